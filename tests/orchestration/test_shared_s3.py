"""Two machines sharing one S3 bucket: Meltano's state backend and target-gather's durable
ledger on an S3 API server (moto, `tests/services/s3.py`).

Each "machine" is its own clone of the Meltano project (its own folder, `.meltano` system
folder, data folder and local ledger file) with the installed plugins; they share nothing but
the bucket. A tenant syncs on the first clone; after one change in HubSpot the next run, on
the second clone with an empty disk, continues from the first's bookmark (state from S3) and
knows what Gather already holds (ledger from S3): it sends only the change.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.gather.pytest_plugin import GatherEmulator
from emulators.hubspot.pytest_plugin import HubSpotEmulator
from hubspot_gather_orchestration.meltano_run import MeltanoSetup, RunOutcome, run_tenant
from tests.conftest import BIN, ROOT
from tests.orchestration.conftest import demo_tenant, gather_with_workspaces, seeded_portal
from tests.services.s3 import S3Server, ensure_boto3, s3_server

pytestmark = [pytest.mark.meltano]
TOKEN = "pat-s3-token"
GATHER_KEY = "gather-s3-key"
BUCKET = "hubspot-gather"
STATE_URI = f"s3://{BUCKET}/meltano-state"
TARGET_PYTHON = ROOT / ".meltano" / "loaders" / "target-gather" / "venv" / "bin" / "python"


def clone_project(where: Path) -> Path:
    """A copy of the Meltano project as a second machine's image would hold it."""
    where.mkdir(parents=True)
    shutil.copy2(ROOT / "meltano.yml", where / "meltano.yml")
    shutil.copytree(ROOT / "plugins", where / "plugins")
    (where / ".meltano").mkdir()
    for kind in ("extractors", "loaders"):
        (where / ".meltano" / kind).symlink_to(ROOT / ".meltano" / kind)
    return where


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    ensure_boto3(str(TARGET_PYTHON), str(ROOT / "requirements" / "dev.txt"))
    with s3_server() as server:
        server.create_bucket(BUCKET)
        yield server


@pytest.fixture
def portal() -> Iterator[HubSpotEmulator]:
    with seeded_portal(TOKEN, companies=4, contacts=12, seed=17) as hubspot:
        yield hubspot


@pytest.fixture
def gather(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatherEmulator]:
    workspaces = {"ws-s3": [GATHER_KEY]}
    with gather_with_workspaces(tmp_path_factory.mktemp("gather"), workspaces) as emulator:
        yield emulator


def counts(outcome: RunOutcome, name: str) -> int:
    """`name` (created, updated, ...) summed over every Gather model of the run."""
    return sum(model.get(name, 0) for model in outcome.model_counts().values())


def test_a_second_machine_continues_from_the_shared_bucket(
    s3: S3Server,
    portal: HubSpotEmulator,
    gather: GatherEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    tenant = demo_tenant(
        monkeypatch,
        "shared",
        "ws-s3",
        (TOKEN, GATHER_KEY),
        tap_settings={"api_url": portal.url, "search_lag_seconds": 0},
        target_settings={"api_url": gather.url},
    )
    machines = [
        MeltanoSetup(
            clone_project(tmp_path / f"machine-{n}" / "project"),
            tmp_path / f"machine-{n}" / "data",
            str(BIN / "meltano"),
            state_backend_uri=STATE_URI,
        )
        for n in (1, 2)
    ]

    first = run_tenant(tenant, machines[0], "run-1")
    assert first.returncode == 0, first.log_tail
    assert counts(first, "created") > 0
    held = {model: gather.records(model, workspace="ws-s3") for model in ("account", "user")}
    keys = s3.keys(BUCKET)
    state_key = "meltano-state/demo:tap-hubspot-gather-to-target-gather:shared/state.json"
    assert state_key in keys
    assert any(k.startswith("meltano-state/target-gather/") for k in keys), keys

    company = portal.dump("companies")[0]
    portal.update("companies", company["id"], {"city": "Second Machine City"})
    second = run_tenant(tenant, machines[1], "run-2")
    assert second.returncode == 0, second.log_tail

    # The bookmark came from S3: one company read and sent, nothing created again; the
    # ledger came from S3 too: the contacts re-read by the relink sweep are known unchanged.
    assert counts(second, "created") == 0
    assert second.model_counts()["account"].get("updated") == 1
    assert second.model_counts().get("user", {}).get("updated", 0) == 0
    accounts = gather.records("account", workspace="ws-s3")
    changed = [key for key, record in accounts.items() if record != held["account"].get(key)]
    assert len(changed) == 1
    assert gather.records("user", workspace="ws-s3") == held["user"]

    # And a run with nothing changed, back on the first machine, sends Gather nothing.
    third = run_tenant(tenant, machines[0], "run-3")
    assert third.returncode == 0, third.log_tail
    assert counts(third, "created") == counts(third, "updated") == 0
