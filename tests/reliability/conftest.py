"""Fixtures for the reliability suite: the end-to-end `Pipeline` with bounded retries, and the
checks every fault schedule ends with (Gather as a fault-free run leaves it; STATE never ahead
of what Gather holds).

The STATE check reads the Meltano state backend (`file://` folder) directly, so it sees exactly
what the next scheduled run would resume from.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.conftest import Pipeline, find_plugin_process
from tests.e2e.expected import record_id

# Retries stay bounded, so a fault schedule costs seconds, not minutes. Only integer settings:
# Meltano 4 cannot pass a `kind: decimal` setting given by env var (see test_settings_by_env),
# so waits are bounded by the faults' own Retry-After instead.
FAST_RETRY_ENV = {
    "TAP_HUBSPOT_GATHER_MAX_RETRIES": "6",
    "TAP_HUBSPOT_GATHER_SEARCHES_PER_SECOND": "100",
    "TARGET_GATHER_MAX_RETRIES": "6",
}
# The incremental cursor of each stream, as HubSpot names it.
MODIFIED_PROPERTY = {"companies": "hs_lastmodifieddate", "contacts": "lastmodifieddate"}
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pipeline(hubspot_emulator: Any, gather_emulator: Any, tmp_path: Path) -> Pipeline:
    """Both emulators (HubSpot without rate limits), fresh state and ledger, quick retries."""
    hubspot_emulator.unlimit()
    return Pipeline(
        hubspot=hubspot_emulator,
        gather=gather_emulator,
        workdir=tmp_path,
        extra_env={**FAST_RETRY_ENV, **private_system_dir(tmp_path)},
    )


def private_system_dir(workdir: Path) -> dict[str, str]:
    """Env giving one test its own `.meltano` folder (plugin venvs linked from the project's).

    Meltano writes each run's config and catalog under `.meltano/run/<plugin>/`; runs started
    at the same time in one project (parallel tests, overlapping schedules) overwrite each
    other's files there. Its own folder also keeps the run logs the security suite greps.
    """
    system = workdir / "meltano-sys"
    if not system.exists():
        system.mkdir()
        for kind in ("extractors", "loaders"):
            (system / kind).symlink_to(PROJECT_ROOT / ".meltano" / kind)
    return {"MELTANO_SYS_DIR_ROOT": str(system)}


def run_allowing_failure(pipeline: Pipeline, **env: str) -> subprocess.CompletedProcess[str]:
    """One `meltano run` to completion whatever its exit code."""
    result = subprocess.run(
        pipeline.command(),
        cwd=PROJECT_ROOT,
        env=pipeline.env(**env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    pipeline.runs += 1
    return result


def backend_states(pipeline: Pipeline) -> list[dict[str, Any]]:
    """Every state the backend holds (one per state id), parsed."""
    states = []
    for path in sorted(pipeline.state_dir.rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        states.append(data)
    return states


def bookmarks(pipeline: Pipeline) -> dict[str, dict[str, Any]]:
    """The tap's bookmarks per stream from the backend (empty when nothing is stored)."""
    found: dict[str, dict[str, Any]] = {}
    for data in backend_states(pipeline):
        singer = data.get("singer_state") or data.get("completed", {}).get("singer_state") or {}
        partial = data.get("partial", {}).get("singer_state") or {}
        for state in (singer, partial):
            found.update(state.get("bookmarks") or {})
    return found


def assert_state_not_ahead_of_gather(pipeline: Pipeline) -> int:
    """Every live HubSpot record the stored STATE has moved past is in Gather as HubSpot has it.

    "Moved past" follows the tap's documented STATE (tap README, "How it reads HubSpot"): the
    next run would never read that record again. Returns how many records the check covered,
    so callers can make sure it was not vacuous.
    """
    accounts, users = pipeline.expected()
    held_accounts, held_users = pipeline.held()
    expected = {"companies": accounts, "contacts": users}
    held = {"companies": held_accounts, "contacts": held_users}
    aliases = {"companies": "companyId", "contacts": "vid"}
    id_props = {
        "companies": pipeline.account_id_property,
        "contacts": pipeline.user_id_property,
    }
    covered = 0
    for stream, mark in bookmarks(pipeline).items():
        for record in pipeline.hubspot.dump(stream):
            if not passed(record, stream, mark):
                continue
            key = record_id(record, id_props[stream], aliases[stream])
            if key is None or key not in expected[stream]:
                continue
            covered += 1
            assert key in held[stream], f"STATE of {stream} is past {key} but Gather lacks it"
            # Contacts' account link depends on companies; compare the record's own traits.
            want = {k: v for k, v in expected[stream][key].items() if k != "account_id"}
            have = {k: v for k, v in held[stream][key].items() if k != "account_id"}
            assert have == want, f"STATE of {stream} is past {key} but Gather holds an older one"
    return covered


def passed(record: dict[str, Any], stream: str, mark: dict[str, Any]) -> bool:
    """Whether a resumed run would skip this live record's current version.

    `bookmark`: every record modified at or before it. `run` (a window in progress): list
    strategy, ids below the `after` cursor modified by the window's end; search strategy,
    records in the window up to the cursor id; archived phase, the whole live window.
    """
    modified = _epoch_ms(record["properties"][MODIFIED_PROPERTY[stream]])
    if mark.get("bookmark") and modified <= _epoch_ms(mark["bookmark"]):
        return True
    run = mark.get("run")
    if not isinstance(run, dict) or modified > _epoch_ms(run["window_end"]):
        return False
    if run.get("window_start") and modified < _epoch_ms(run["window_start"]):
        return False
    if run["phase"] == "archived":
        return True
    cursor = run.get("cursor")
    if cursor is None:
        return False
    # List: `after` is the next id to read. Search: the cursor is the last id read.
    last_read = int(cursor) - 1 if run["strategy"] == "list" else int(cursor)
    return int(record["id"]) <= last_read


def _epoch_ms(value: str | int) -> int:
    """Milliseconds since the epoch from HubSpot's ISO-8601 or epoch-ms forms."""
    if isinstance(value, int) or value.isdigit():
        return int(value)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return int(parsed.timestamp() * 1000)


def wait_for_child(meltano: subprocess.Popen[str], name: str) -> psutil.Process | None:
    """The plugin process `name` under `meltano run`, or None if the run ended first."""
    child = find_plugin_process(meltano, name)
    if child is None and meltano.poll() is None:
        pytest.fail(f"{name} never started under meltano run")
    return child


def kill(process: psutil.Process) -> None:
    """SIGKILL, ignoring a process that has already gone."""
    with contextlib.suppress(psutil.NoSuchProcess):
        process.send_signal(signal.SIGKILL)


def route_count(stats: dict[str, Any], method: str, suffix: str, status: str | None = None) -> int:
    """Requests on routes `METHOD ...suffix`, all or only those answered `status`."""
    routes = stats.get("requests", stats)["routes"]
    total = 0
    for route, data in routes.items():
        if route.startswith(method + " ") and route.endswith(suffix):
            if status is None:
                total += data["total"]
            else:
                total += data.get("by_status", {}).get(status, 0)
    return total
