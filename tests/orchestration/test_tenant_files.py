"""Every file a tenant's run writes lives in the tenant's folder.

The run's environment points everything a run may write (the target's ledger, rejects,
left-behind report and summary, Meltano's system folder, run logs and caches) into the
tenant's folder. Here the orchestrator's own HOME, XDG folders and TMPDIR are empty folders of
the test: after two runs (the second leaves a record behind, so the left-behind report is
written), every file created or changed there or in the project checkout is listed, and all of
them are in the tenant's folder, except in the state backend, the storage tenants share by
design (a bucket in production): there only the tenant's own state ID and the target's durable
ledger.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.gather.pytest_plugin import GatherEmulator
from emulators.hubspot.pytest_plugin import HubSpotEmulator
from hubspot_gather_orchestration.meltano_run import MeltanoSetup, run_tenant
from tests.conftest import BIN, ROOT
from tests.orchestration.conftest import demo_tenant, gather_with_workspaces, seeded_portal

pytestmark = [pytest.mark.meltano]
TOKEN = "pat-files-token"
GATHER_KEY = "gather-files-key"
# Not walked: git's own files and the installed environments (read, never written by a run).
SKIPPED = {
    ROOT / ".git",
    ROOT / ".venv",
    ROOT / ".meltano" / "extractors",
    ROOT / ".meltano" / "loaders",
}


@pytest.fixture
def portal() -> Iterator[HubSpotEmulator]:
    with seeded_portal(TOKEN, companies=2, contacts=4, seed=9) as hubspot:
        yield hubspot


@pytest.fixture
def gather(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatherEmulator]:
    workspaces = {"ws-files": [GATHER_KEY]}
    with gather_with_workspaces(tmp_path_factory.mktemp("gather"), workspaces) as emulator:
        yield emulator


def written_since(folder: Path, since: float) -> list[Path]:
    """Files (and links) under `folder` created or modified after `since`."""
    found = []
    for current, dirs, files in os.walk(folder):
        # Python's bytecode caches of the project's (editable) packages are written by whichever
        # process imports a changed module first: not a run's output.
        dirs[:] = [d for d in dirs if Path(current, d) not in SKIPPED and d != "__pycache__"]
        for name in files:
            path = Path(current, name)
            try:
                if path.lstat().st_mtime >= since:
                    found.append(path)
            except FileNotFoundError:  # removed meanwhile (a SQLite journal)
                continue
    return found


def test_every_file_of_a_tenant_run_is_in_the_tenant_folder(
    portal: HubSpotEmulator,
    gather: GatherEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "orchestrator"
    for name in ("HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "TMPDIR"):
        folder = home / name.lower()
        folder.mkdir(parents=True)
        monkeypatch.setenv(name, str(folder))
    tenant = demo_tenant(
        monkeypatch,
        "files",
        "ws-files",
        (TOKEN, GATHER_KEY),
        # Fractional settings travel as env vars too (Meltano 4.4 crashed on kind: decimal).
        tap_settings={"api_url": portal.url, "search_lag_seconds": 0, "request_timeout": 20.5},
        target_settings={
            "api_url": gather.url,
            "sync_mode": "keep",
            "delete_records": False,  # the demo environment's older spelling of mirror
            "max_requests_per_second": 500.5,
            "backoff_base_s": 0.05,
        },
    )
    setup = MeltanoSetup(ROOT, tmp_path / "data", str(BIN / "meltano"))
    since = time.time() - 1  # file systems with coarse timestamps

    first = run_tenant(tenant, setup, "run-1")
    assert first.returncode == 0, first.log_tail
    # A contact Gather holds (one without a user ID, or an invalid one, was never sent, so
    # archiving it leaves nothing behind); keep mode reports it as left behind.
    held = gather.records("user", workspace="ws-files")
    contact = next(
        c for c in portal.dump("contacts") if c["properties"].get("gather_user_id") in held
    )
    portal.archive("contacts", contact["id"])
    second = run_tenant(tenant, setup, "run-2")
    assert second.returncode == 0, second.log_tail

    tenant_dir = setup.tenant_dir(tenant.id)
    written = written_since(home, since) + written_since(ROOT, since)
    elsewhere = [p for p in written if not p.is_relative_to(tenant_dir)]
    assert elsewhere == []
    backend = setup.data_dir / "state"
    shared = {p.relative_to(backend).parts[0] for p in written_since(backend, since)}
    assert shared == {"demo:tap-hubspot-gather-to-target-gather:files", "target-gather"}
    mine = {p.relative_to(tenant_dir).as_posix() for p in written_since(tenant_dir, since)}
    for expected in (
        "target/ledger.sqlite3",
        "target/left-behind.jsonl",
        "runs/run-1/summary.json",
        "runs/run-1/meltano.log",
        "runs/run-2/summary.json",
    ):
        assert expected in mine, sorted(mine)
    # Meltano's own run log, in the tenant's folder too.
    assert any(p.startswith("runs/run-2/xdg-state/meltano/log/") for p in mine), sorted(mine)
