"""Two HubSpot portals with colliding record ids into one Gather workspace, through
`meltano run`, in keep and mirror mode: neither sees, skips, reports or deletes the other's
records, and the unchanged portal's second run sends nothing.

Each portal is its own Meltano state ID (`--state-id-suffix`); both share the state backend,
the target's ledger (local file and durable copy) and its report files, as one Meltano project
syncing both portals would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Pipeline
from tests.e2e.expected import Mode, gather_problems
from tests.e2e.test_identity import MODE_ENV
from tests.e2e.test_sync import route_total
from tests.e2e.two_portals import HUB_IDS, changes_in, expected_union, seed_portals
from tests.reliability.conftest import private_system_dir

MODES = [pytest.param("keep", id="keep"), pytest.param("mirror", id="mirror")]


def portal_pipeline(hubspot: Any, gather: Any, root: Path, name: str, mode: Mode) -> Pipeline:
    """One portal's `meltano run`: its own state ID and Meltano folders, shared ledger,
    state backend and reports."""
    hubspot.unlimit()
    workdir = root / name
    workdir.mkdir()
    shared = {
        "MELTANO_STATE_BACKEND_URI": (root / "state").as_uri(),
        "TARGET_GATHER_LEDGER_PATH": str(root / "ledger.sqlite3"),
        "TARGET_GATHER_LEFT_BEHIND_PATH": str(root / "left-behind.jsonl"),
        "TARGET_GATHER_REJECTS_PATH": str(root / "rejects.jsonl"),
    }
    (root / "state").mkdir(exist_ok=True)
    return Pipeline(
        hubspot=hubspot,
        gather=gather,
        workdir=workdir,
        extra_env={**MODE_ENV[mode], **private_system_dir(workdir), **shared},
    )


def sync(pipeline: Pipeline, name: str) -> None:
    pipeline.run(f"--state-id-suffix={name}", "tap-hubspot-gather", "target-gather")


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_two_portals_into_one_workspace(
    hubspot_emulator_factory: Any, gather_emulator: Any, tmp_path: Path, mode: Mode
) -> None:
    first, second = (hubspot_emulator_factory(hub_id=h) for h in HUB_IDS)
    seed_portals(first, second)
    us = portal_pipeline(first, gather_emulator, tmp_path, "us", mode)
    eu = portal_pipeline(second, gather_emulator, tmp_path, "eu", mode)

    def reported() -> list[dict[str, Any]]:  # the shared left-behind file
        return Pipeline(first, gather_emulator, tmp_path).left_behind()

    sync(us, "us")
    sync(eu, "eu")
    assert gather_problems(expected_union(first, second), eu.held(), mode) == []
    assert reported() == []  # the second portal's first run reports nothing of the first
    assert route_total(gather_emulator.stats(), "DELETE", "/records/{id}") == 0
    summary = eu.summary()
    assert {s["portal"] for s in summary["sources"]} == {str(HUB_IDS[1])}
    assert summary["identity_tracking"] == {"companies": True, "contacts": True}

    changes_in(first)
    sync(us, "us")
    gather_emulator.reset_stats()
    sync(eu, "eu")

    assert gather_emulator.stats()["requests"]["total"] == 0, "the unchanged portal sent nothing"
    lines = reported()
    gone = {(str(x["model"]), str(x["id"])) for x in lines}
    problems = gather_problems(expected_union(first, second), eu.held(), mode, gone)
    assert problems == [], "\n".join(problems[:25])
    # Left behind: the old key, the cleared ID and the two archived contacts, all portal A's.
    assert {(x["portal"], x["stream"]) for x in lines} == {(str(HUB_IDS[0]), "contacts")}
    assert sorted(x["reason"] for x in lines) == [
        "archived",
        "archived",
        "id_cleared",
        "key_changed",
    ]
    assert {x["action"] for x in lines} == {"reported" if mode == "keep" else "deleted"}
