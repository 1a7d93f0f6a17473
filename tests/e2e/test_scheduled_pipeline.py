"""A scheduled CI runner keeps no disk: two fresh checkouts sharing only the state backend
behave as one pipeline (the first run is full, the second incremental).

Each checkout runs the same command the CI workflow runs (`scripts/scheduled-run.sh`), which
builds its own environment from scratch, exactly as a new runner would.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.e2e.test_sync import route_total

SEED = {"companies": 20, "contacts": 150, "seed": 21}
SETUP_AND_RUN_TIMEOUT_S = 600


def scheduled_run(checkout: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        ["bash", "scripts/scheduled-run.sh"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=SETUP_AND_RUN_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def fresh_checkout(destination: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(destination)], check=True)
    return destination


@pytest.mark.e2e
@pytest.mark.slow
def test_two_fresh_checkouts_sharing_only_the_state_backend_run_as_one_pipeline(
    hubspot_emulator: Any, gather_emulator: Any, tmp_path: Path
) -> None:
    hubspot_emulator.unlimit()
    hubspot_emulator.seed(**SEED)
    state = tmp_path / "shared-state"
    state.mkdir()
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MELTANO_", "XDG_", "VIRTUAL_ENV", "TAP_", "TARGET_"))
    }
    env = {
        **inherited,
        # Only this is shared between the two runners (plus the package cache, for speed).
        "MELTANO_STATE_BACKEND_URI": state.as_uri(),
        "UV_CACHE_DIR": str(ROOT / ".cache" / "uv"),
        "PIP_CACHE_DIR": str(ROOT / ".cache" / "pip"),
        "UV_COMPILE_BYTECODE": "0",  # a runner would compile; the test has no use for it
        "MELTANO_ENVIRONMENT": "demo",
        "TAP_HUBSPOT_GATHER_API_URL": hubspot_emulator.url,
        "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": hubspot_emulator.token,
        "TAP_HUBSPOT_GATHER_SEARCH_LAG_SECONDS": "0",
        "TARGET_GATHER_API_URL": gather_emulator.url,
        "TARGET_GATHER_API_KEY": gather_emulator.api_key,
    }

    scheduled_run(fresh_checkout(tmp_path / "runner-1"), env)
    users_after_first = gather_emulator.records("user")
    assert len(users_after_first) > 100
    first_stats = hubspot_emulator.stats()
    assert route_total(first_stats, "GET", "/crm/v3/objects/{object_type}") >= 2

    changed = [
        c for c in hubspot_emulator.dump("contacts") if c["properties"].get("gather_user_id")
    ][:3]
    for contact in changed:
        hubspot_emulator.update("contacts", contact["id"], {"city": "Reykjavik"})
    hubspot_emulator.reset_stats()
    gather_emulator.reset_stats()

    scheduled_run(fresh_checkout(tmp_path / "runner-2"), env)
    # The second runner has no ledger and no local state: only the shared state backend made
    # its run incremental, so only the three changed contacts travelled.
    posted = route_total(gather_emulator.stats(), "POST", "/records")
    assert posted == 3
    assert route_total(hubspot_emulator.stats(), "POST", "/search") >= 1
    users = gather_emulator.records("user")
    for contact in changed:
        assert users[contact["properties"]["gather_user_id"]]["city"] == "Reykjavik"
