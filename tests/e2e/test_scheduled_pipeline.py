"""A scheduled CI runner keeps no disk: fresh checkouts sharing only the state backend behave
as one pipeline (the first run is full, the next ones incremental), also when identities change
between runs (a key change, a merge, a delete), and an unchanged run sends Gather nothing.

Each checkout runs the same command the CI workflow runs (`scripts/scheduled-run.sh`), which
builds its own environment from scratch, exactly as a new runner would. The third runner reuses
the first checkout wiped back to a fresh clone (`git clean`) except its built environments, which
hold nothing the sync remembers, so it costs no second install.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.e2e.expected import expected_gather, gather_problems
from tests.e2e.identity_changes import Portal
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


# Built environments (tools, dev venv, plugin venvs): software, not memory of earlier runs.
BUILT = (".tools", ".venv", ".meltano/extractors", ".meltano/loaders", ".meltano/.installed")


def wiped_to_fresh_clone(checkout: Path) -> Path:
    """The checkout as a fresh clone would be, except the built environments: every file a
    run wrote (ledger, Meltano's system database, logs, outputs) is gone."""
    excludes = [arg for path in BUILT for arg in ("-e", path)]
    subprocess.run(["git", "clean", "-xdfq", *excludes], cwd=checkout, check=True)
    return checkout


def assert_mirror_of_hubspot(hubspot: Any, gather: Any) -> None:
    expected = expected_gather(
        hubspot.dump("companies"), hubspot.dump("contacts"), "gather_account_id", "gather_user_id"
    )
    held = (gather.records("account"), gather.records("user"))
    problems = gather_problems(expected, held, "mirror")
    assert not problems, "\n".join(problems[:25])


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
        "TARGET_GATHER_SYNC_MODE": "mirror",
    }

    first_runner = fresh_checkout(tmp_path / "runner-1")
    scheduled_run(first_runner, env)
    users_after_first = gather_emulator.records("user")
    assert len(users_after_first) > 100
    first_stats = hubspot_emulator.stats()
    assert route_total(first_stats, "GET", "/crm/objects/{version}/{object_type}") >= 2
    assert_mirror_of_hubspot(hubspot_emulator, gather_emulator)

    portal = Portal(hubspot_emulator, "gather_account_id", "gather_user_id")
    changed = portal.take_contacts(3)
    for contact in changed:
        hubspot_emulator.update("contacts", contact["id"], {"city": "Reykjavik"})
    rekeyed, merged_first, merged_second, archived = portal.take_contacts(4)
    portal.set_user_key(rekeyed, portal.new_user_key(rekeyed, "REKEYED"))
    hubspot_emulator.merge("contacts", merged_first["id"], merged_second["id"], new_id=True)
    hubspot_emulator.archive("contacts", archived["id"])
    hubspot_emulator.reset_stats()
    gather_emulator.reset_stats()

    scheduled_run(fresh_checkout(tmp_path / "runner-2"), env)
    # The second runner has no ledger and no local state: only the shared state backend made
    # its run incremental, so only the changed contacts travelled, and it knew which Gather
    # users the re-keyed, merged-away and archived contacts had.
    gather_stats = gather_emulator.stats()
    posted = route_total(gather_stats, "POST", "/records")
    # Three cities and the re-keyed user; the merged record keeps the primary's ID and traits,
    # so its upsert may be skipped as unchanged.
    assert 3 + 1 <= posted <= 3 + 1 + 1, gather_stats
    # The re-keyed contact's old key, the merged-away contact's and the archived one's.
    assert route_total(gather_stats, "DELETE", "/records/{id}") == 3, gather_stats
    assert route_total(hubspot_emulator.stats(), "POST", "/search") >= 1
    users = gather_emulator.records("user")
    for contact in changed:
        assert users[contact["properties"]["gather_user_id"]]["city"] == "Reykjavik"
    assert_mirror_of_hubspot(hubspot_emulator, gather_emulator)

    gather_emulator.reset_stats()
    scheduled_run(wiped_to_fresh_clone(first_runner), env)
    assert gather_emulator.stats()["requests"]["total"] == 0, "an unchanged run sends nothing"
    assert_mirror_of_hubspot(hubspot_emulator, gather_emulator)
