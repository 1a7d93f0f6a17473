"""A Meltano user's own project adds both plugins from their definition files and syncs.

Exactly the README's "Install in your own Meltano project" commands, in a brand-new project
(`meltano init`) outside the checkout: `meltano add --from-ref <definition file>` for each
plugin, then `meltano run`. The definitions' pip URLs point at this checkout's committed HEAD
(`git+file://...#subdirectory=...`) instead of the GitHub release tag, so what is tested is
what would be released.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import MELTANO_ENV, ROOT, run_meltano
from tests.e2e.expected import expected_gather, without_cleared_links

pytestmark = [pytest.mark.meltano, pytest.mark.e2e]

PLUGINS = (("extractor", "tap-hubspot-gather"), ("loader", "target-gather"))
COMMON = "hubspot-gather-common"  # what both plugins depend on, installed from the same checkout


def local_definition(name: str, folder: Path) -> Path:
    """The plugin's definition file with its pip URL pointing at this checkout's HEAD."""
    spec = yaml.safe_load((ROOT / name / "meltano-hub.yml").read_text(encoding="utf-8"))
    spec["pip_url"] = " ".join(
        f"git+{ROOT.as_uri()}#subdirectory={package}" for package in (COMMON, name)
    )
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def test_a_new_meltano_project_adds_both_plugins_and_syncs(
    hubspot_emulator: Any, gather_emulator: Any, tmp_path: Path
) -> None:
    hubspot_emulator.unlimit()
    hubspot_emulator.seed(companies=8, contacts=40, seed=5)  # some lack their ID: skipped
    project = tmp_path / "my-project"
    env = {
        **os.environ,
        **MELTANO_ENV,
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "MELTANO_STATE_BACKEND_URI": (tmp_path / "state").as_uri(),
    }
    init = run_meltano("init", str(project), "--no-usage-stats", cwd=tmp_path, env=env)
    assert init.returncode == 0, init.stderr[-3000:]

    for kind, name in PLUGINS:
        added = run_meltano(
            "add", kind, name, "--from-ref", str(local_definition(name, tmp_path)),
            cwd=project, env=env,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr[-3000:]

    declared = yaml.safe_load((project / "meltano.yml").read_text(encoding="utf-8"))
    (tap,) = declared["plugins"]["extractors"]
    assert tap["variant"] == "gather"
    assert "structured-logging" in tap["capabilities"]

    settings = {
        "TAP_HUBSPOT_GATHER_API_URL": hubspot_emulator.url,
        "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": hubspot_emulator.token,
        "TAP_HUBSPOT_GATHER_SEARCH_LAG_SECONDS": "0",
        "TAP_HUBSPOT_GATHER_ACCOUNT_ID_PROPERTY": "gather_account_id",
        "TAP_HUBSPOT_GATHER_USER_ID_PROPERTY": "gather_user_id",
        "TARGET_GATHER_API_URL": gather_emulator.url,
        "TARGET_GATHER_API_KEY": gather_emulator.api_key,
    }
    run = run_meltano(
        "run", "tap-hubspot-gather", "target-gather", cwd=project, env={**env, **settings}
    )
    assert run.returncode == 0, run.stderr[-4000:]
    # structured-logging is declared, so Meltano renders the plugins' levels and metrics.
    lines = run.stderr.splitlines()
    skipped = [line for line in lines if "tap-hubspot-gather" in line and "records skipped" in line]
    assert skipped
    assert all("[warning" in line for line in skipped), skipped
    metrics = [line for line in lines if " METRIC " in line]
    assert any("metric_name=record_count" in line for line in metrics), metrics
    assert not [line for line in lines if '"metric_name"' in line or '"type": "counter"' in line]

    accounts, users = expected_gather(
        hubspot_emulator.dump("companies"),
        hubspot_emulator.dump("contacts"),
        "gather_account_id",
        "gather_user_id",
    )
    assert accounts
    assert users
    assert gather_emulator.records("account") == accounts
    assert without_cleared_links(gather_emulator.records("user")) == users
