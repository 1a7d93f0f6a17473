"""Gather follows HubSpot as identities change, through `meltano run`, in both sync modes.

After every run Gather is compared with what HubSpot implies (`tests/e2e/expected.py`):
- **mirror**: exactly the live HubSpot records with IDs, current traits and account links;
- **keep**: every live record exact (its account link included, cleared when it has none);
  any other Gather record must be one the run reported as left behind (the left-behind file).

The HubSpot emulator never bumps a contact's modified date for association changes here
(`association_changes_touch_contacts: false`): the worst case, which HubSpot does not rule out.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Pipeline
from tests.e2e.expected import Mode, gather_problems
from tests.e2e.identity_changes import Portal, account_links, deletes_and_reuse, links_and_keys
from tests.e2e.test_sync import route_total
from tests.reliability.conftest import private_system_dir

# Small enough for ~4 s per run, big enough for every change to find distinct records.
SEED = {"companies": 30, "contacts": 200, "seed": 14}
MODE_ENV: dict[str, dict[str, str]] = {
    "keep": {"TARGET_GATHER_SYNC_MODE": "keep", "TARGET_GATHER_DELETE_RECORDS": "false"},
    # Each run changes more than the default delete cap allows (its own tests: tests/target).
    "mirror": {
        "TARGET_GATHER_SYNC_MODE": "mirror",
        "TARGET_GATHER_DELETE_RECORDS": "true",
        "TARGET_GATHER_DELETE_CAP_PERCENT": "100",
    },
}
ID_CHOICES = [
    pytest.param(("gather_account_id", "gather_user_id"), id="internal-ids"),
    pytest.param(("companyId", "vid"), id="hubspot-ids"),
    pytest.param(("gather_account_id", "email"), id="email-user-id"),
]
MODES = [pytest.param("keep", id="keep"), pytest.param("mirror", id="mirror")]
CAPTURES = [pytest.param("poll", id="poll"), pytest.param("journal", id="journal")]


def capture_env(hubspot: Any, capture: str) -> dict[str, str]:
    """How the tap learns what changed. Polling: the relink sweep every run (interval 0), as
    the association-only changes below need it; journal: the OAuth app (its install token for
    the CRM, its client credentials for the journal) and no sweep at all."""
    if capture == "poll":
        return {
            "TAP_HUBSPOT_GATHER_CHANGE_CAPTURE": "poll",
            "TAP_HUBSPOT_GATHER_RELINK_SWEEP_INTERVAL": "0",
        }
    client = hubspot.oauth_client
    return {
        "TAP_HUBSPOT_GATHER_CHANGE_CAPTURE": "journal",
        "TAP_HUBSPOT_GATHER_RELINK_SWEEP": "false",
        "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": "",
        "TAP_HUBSPOT_GATHER_CLIENT_ID": client.client_id,
        "TAP_HUBSPOT_GATHER_CLIENT_SECRET": client.client_secret,
        "TAP_HUBSPOT_GATHER_REFRESH_TOKEN": client.refresh_token,
    }


# HubSpot purges archived records after 90 days; one day more makes them gone.
PAST_RETENTION_DAYS = 91
# Index lag longer than the tap's `search_lag_seconds`: 20 s against 5 s.
INDEX_LAG_S = 20
SEARCH_LAG_S = 5
# ISO datetimes and epoch milliseconds in the stored STATE that `age_state` moves.
EPOCH_MS_RANGE = (10**12, 10**13)


def identity_pipeline(
    hubspot: Any, gather: Any, workdir: Path, mode: Mode, ids: tuple[str, str]
) -> Pipeline:
    """A pipeline in `mode` with its own Meltano folder (runs may overlap other tests')."""
    hubspot.unlimit()
    hubspot.set_config(association_changes_touch_contacts=False)
    return Pipeline(
        hubspot=hubspot,
        gather=gather,
        workdir=workdir,
        account_id_property=ids[0],
        user_id_property=ids[1],
        extra_env={**MODE_ENV[mode], **private_system_dir(workdir)},
    )


def assert_gather_follows_hubspot(pipeline: Pipeline, mode: Mode) -> None:
    """Gather is what HubSpot implies for `mode` (see the module docstring)."""
    reported = {(str(line["model"]), str(line["id"])) for line in pipeline.left_behind()}
    problems = gather_problems(pipeline.expected(), pipeline.held(), mode, reported)
    shown = "\n".join(problems[:25])
    assert not problems, f"after run {pipeline.runs} ({mode}), {len(problems)} problems:\n{shown}"
    if mode == "keep":
        deletes = route_total(pipeline.gather.stats(), "DELETE", "/records/{id}")
        assert deletes == 0, "keep mode never deletes in Gather"


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ids", ID_CHOICES)
@pytest.mark.parametrize("capture", CAPTURES)
def test_identity_changes_between_runs(  # noqa: PLR0917 - pytest fixtures and parameters
    hubspot_emulator: Any,
    gather_emulator: Any,
    tmp_path: Path,
    mode: Mode,
    ids: tuple[str, str],
    capture: str,
) -> None:
    pipeline = identity_pipeline(hubspot_emulator, gather_emulator, tmp_path, mode, ids)
    pipeline.extra_env.update(capture_env(pipeline.hubspot, capture))
    pipeline.hubspot.seed(**SEED)
    pipeline.run()
    assert_gather_follows_hubspot(pipeline, mode)

    portal = Portal(pipeline.hubspot, *ids)
    links_and_keys(portal)
    pipeline.run()
    assert_gather_follows_hubspot(pipeline, mode)

    deletes_and_reuse(portal)
    if capture == "journal":  # the journal reports permanent deletes itself
        pipeline.run()
    else:  # permanent deletes leave no trace in HubSpot: only a reconciliation finds them
        pipeline.run(TAP_HUBSPOT_GATHER_RECONCILE="always")
    assert_gather_follows_hubspot(pipeline, mode)

    if ids[1] == "gather_user_id" and mode == "mirror":  # nothing re-deleted, nothing re-sent
        pipeline.gather.reset_stats()
        pipeline.run()
        assert pipeline.gather.stats()["requests"]["total"] == 0, "an unchanged run sends nothing"
        assert_gather_follows_hubspot(pipeline, mode)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_polling_between_sweeps_follows_every_account_id_change(
    hubspot_emulator: Any, gather_emulator: Any, tmp_path: Path, mode: Mode
) -> None:
    """Polling with the shipped sweep interval (no sweep in the second run): account IDs
    filled, changed and cleared, a company archived, two merged, one only renamed. The tap
    reads the modified companies' account-ID history and re-links only what moved."""
    ids = ("gather_account_id", "gather_user_id")
    pipeline = identity_pipeline(hubspot_emulator, gather_emulator, tmp_path, mode, ids)
    pipeline.extra_env["TAP_HUBSPOT_GATHER_CHANGE_CAPTURE"] = "poll"
    hubspot = pipeline.hubspot
    hubspot.seed(**SEED)
    pipeline.run()
    portal = Portal(hubspot, *ids)
    account_links(portal)
    (renamed,) = portal.take_companies(1)
    hubspot.update("companies", renamed["id"], {"name": "Renamed, same account ID"})
    hubspot.reset_stats()

    pipeline.run()

    assert_gather_follows_hubspot(pipeline, mode)
    stats = hubspot.stats()
    assert route_total(stats, "POST", "/batch/read") >= 1  # the account-ID history was read
    # No sweep: the contacts were searched (window, re-links), not listed.
    assert route_total(stats, "GET", "/objects/{version}/{object_type}") <= 2  # archived passes


@pytest.mark.e2e
@pytest.mark.slow
def test_a_change_search_indexes_late_arrives_in_a_later_run_with_the_default_lookback(
    hubspot_emulator: Any, gather_emulator: Any, tmp_path: Path
) -> None:
    """Default settings, except the relink sweep: it lists every contact each run, which no
    index lag affects, and would deliver the change without the lookback being tested."""
    ids = ("gather_account_id", "gather_user_id")
    pipeline = identity_pipeline(hubspot_emulator, gather_emulator, tmp_path, "keep", ids)
    pipeline.hubspot.seed(**SEED)
    settings = {"TAP_HUBSPOT_GATHER_RELINK_SWEEP": "false"}
    pipeline.run(**settings)
    hubspot = pipeline.hubspot
    hubspot.set_config(search_index_lag_s=INDEX_LAG_S)
    (contact,) = Portal(hubspot, *ids).take_contacts(1)
    hubspot.update("contacts", contact["id"], {"city": "Late Harbour"})
    written = time.monotonic()
    # The next run's window covers the change (it ends SEARCH_LAG_S before the run starts)
    # while search does not show it yet: the run moves past it without seeing it.
    time.sleep(SEARCH_LAG_S + 1)
    settings["TAP_HUBSPOT_GATHER_SEARCH_LAG_SECONDS"] = str(SEARCH_LAG_S)
    pipeline.run(**settings)
    user_id = contact["properties"]["gather_user_id"]
    if time.monotonic() - written < INDEX_LAG_S:  # else a slow machine let search catch up
        assert pipeline.gather.records("user")[user_id].get("city") != "Late Harbour"
    time.sleep(max(0.0, written + INDEX_LAG_S + 1 - time.monotonic()))
    pipeline.run(**settings)
    assert pipeline.gather.records("user")[user_id]["city"] == "Late Harbour"
    assert_gather_follows_hubspot(pipeline, "keep")


def _shift(value: Any, delta: timedelta) -> Any:
    """`value` moved `delta` earlier if it is a datetime (ISO text or epoch ms), else as is."""
    if isinstance(value, dict):
        return {k: _shift(v, delta) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, delta) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        low, high = EPOCH_MS_RANGE
        return value - int(delta.total_seconds() * 1000) if low <= value < high else value
    if isinstance(value, str) and len(value) >= len("2020-01-01T00:00") and "T" in value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return (parsed - delta).isoformat()
    return value


def age_state(pipeline: Pipeline, days: int) -> int:
    """Make the stored Meltano state `days` older (every datetime in it); returns how many
    state files changed. Together with the emulator's time travel: the previous run happened
    `days` ago and nothing changed since."""
    changed = 0
    # Meltano's file backend keeps each state as `<state id>/state.json`; other files there
    # (the target's durable ledger) are not Meltano state.
    for path in pipeline.state_dir.rglob("state.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        aged = _shift(data, timedelta(days=days))
        if aged != data:
            path.write_text(json.dumps(aged), encoding="utf-8")
            changed += 1
    return changed


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "ids"),
    [
        pytest.param("mirror", ("gather_account_id", "gather_user_id"), id="mirror-internal-ids"),
        pytest.param("keep", ("companyId", "vid"), id="keep-hubspot-ids"),
    ],
)
def test_a_previous_run_older_than_the_archive_retention_reconciles_by_itself(
    hubspot_emulator: Any, gather_emulator: Any, tmp_path: Path, mode: Mode, ids: tuple[str, str]
) -> None:
    pipeline = identity_pipeline(hubspot_emulator, gather_emulator, tmp_path, mode, ids)
    pipeline.hubspot.seed(**SEED)
    pipeline.run()
    hubspot = pipeline.hubspot
    portal = Portal(hubspot, *ids)
    (company,) = portal.take_companies(1)
    archived, deleted = portal.take_contacts(2)
    hubspot.archive("companies", company["id"])
    hubspot.archive("contacts", archived["id"])
    portal.gdpr_delete(deleted["id"])
    assert hubspot.time_travel(days=PAST_RETENTION_DAYS) == 2
    assert age_state(pipeline, PAST_RETENTION_DAYS) >= 1
    hubspot.reset_stats()
    pipeline.run()  # `reconcile` left at its default
    assert_gather_follows_hubspot(pipeline, mode)
    listed = route_total(hubspot.stats(), "GET", "/crm/objects/{version}/{object_type}")
    assert listed >= 2, "a reconciliation lists every live record"
