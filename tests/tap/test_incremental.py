"""Incremental extraction: only changes, resumable after a kill, exact under ties and caps."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.tap.harness import cli_command, discover, parse_lines, run_tap, select_only

SEARCH = "POST /crm/objects/{version}/{object_type}/search"
LIST = "GET /crm/objects/{version}/{object_type}"
BATCH = "POST /crm/objects/{version}/{object_type}/batch/read"
PROPERTIES = "GET /crm/properties/{version}/{object_type}"
STREAMS = ("companies", "contacts")


def previous_run(bookmark: str) -> dict[str, Any]:
    """A STATE as a previous run leaves it: the next run searches from `bookmark`."""
    return {"bookmarks": {s: {"bookmark": bookmark} for s in STREAMS}}


def route_total(stats: dict[str, Any], route: str) -> int:
    return int(stats["routes"].get(route, {}).get("total", 0))


def statuses(stats: dict[str, Any]) -> set[str]:
    return {status for route in stats["routes"].values() for status in route["by_status"]}


def test_second_run_fetches_only_what_changed_with_few_requests(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=30, contacts=450)
    first = run_tap(config)
    assert len(first.records["contacts"]) == 450
    assert len(first.records["companies"]) == 30

    contacts = [c["id"] for c in hubspot.dump("contacts")]
    changed_contacts = contacts[::50]
    for contact_id in changed_contacts:
        hubspot.update("contacts", contact_id, {"city": "Lisbon"})
    changed_company = hubspot.dump("companies")[3]["id"]
    hubspot.update("companies", changed_company, {"city": "Porto"})
    hubspot.reset_stats()

    second = run_tap(config, state=first.last_state)

    assert sorted(second.ids("contacts")) == sorted(changed_contacts)
    assert all(r["city"] == "Lisbon" for r in second.records["contacts"])
    assert second.ids("companies") == [changed_company]
    stats = hubspot.stats()
    # ceil(changed / 200) searches per stream, plus discovery: nothing else (the portal id
    # was read once, by the first run, and remembered in STATE).
    assert route_total(stats, SEARCH) == 2
    assert route_total(stats, LIST) == 0
    assert route_total(stats, BATCH) == 0
    account = sum(int(r["total"]) for n, r in stats["routes"].items() if "/account-info/" in n)
    assert account == 0
    assert first.last_state["bookmarks"]["contacts"]["portal_id"] == hubspot.hub_id
    assert stats["total"] == route_total(stats, SEARCH) + route_total(stats, PROPERTIES)

    hubspot.reset_stats()
    third = run_tap(config, state=second.last_state)
    assert not third.records
    assert route_total(hubspot.stats(), SEARCH) == 2


def test_start_date_limits_the_first_run_to_recent_changes(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=5, contacts=100)
    cutoff = sorted(c["updatedAt"] for c in hubspot.dump("contacts"))[60]
    expected = {c["id"] for c in hubspot.dump("contacts") if c["updatedAt"] >= cutoff}
    run = run_tap({**config, "start_date": cutoff})
    assert set(run.ids("contacts")) == expected
    assert route_total(hubspot.stats(), LIST) == 0


def test_more_than_10000_changed_records_sharing_one_timestamp_are_each_read_once(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=1, contacts=10_500, id_gap_max=1)
    stamp = "2026-06-01T00:00:00.000Z"
    assert hubspot.touch("contacts", timestamp=stamp) == 10_500
    settings = {**config, "user_id_property": "vid"}
    catalog = select_only(discover(settings), {"contacts": {"email"}})
    state = {"bookmarks": {"contacts": {"bookmark": "2026-05-31T23:59:59.000Z"}}}
    hubspot.reset_stats()

    run = run_tap(settings, state=state, catalog=catalog)

    ids = run.ids("contacts")
    assert len(ids) == len(set(ids)) == 10_500
    stats = hubspot.stats()
    assert statuses(stats) == {"200"}, stats  # no 400 from the 10,000-result cap
    assert route_total(stats, SEARCH) == 10_500 // 200 + 1


def test_a_thousand_selected_properties_never_cause_a_414(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=3, contacts=150, custom_properties=1000)
    dumped = {c["id"]: c["properties"] for c in hubspot.dump("contacts")}
    first = run_tap(config)  # list strategy: the URL holds what fits, batch/read the rest
    stats = hubspot.stats()
    assert "414" not in statuses(stats)
    assert route_total(stats, BATCH) >= 2
    schema = first.schemas["contacts"]["schema"]["properties"]
    custom = [name for name in schema if name.startswith("custom_property_")]
    assert len(custom) == 1000
    filled = 0
    for record in first.records["contacts"]:
        source = dumped[record["id"]]
        assert set(schema) <= set(record)
        for name in custom:
            assert record[name] == source.get(name), name
            filled += record[name] is not None
    assert filled > 1000  # the values really came back, not just null keys

    for contact_id in list(dumped)[:3]:
        hubspot.update("contacts", contact_id, {"city": "Oslo"})
    hubspot.reset_stats()
    second = run_tap(config, state=first.last_state)  # search: properties in the body
    assert sorted(second.ids("contacts")) == sorted(list(dumped)[:3])
    assert "414" not in statuses(hubspot.stats())
    assert set(schema) <= set(second.records["contacts"][0])


def test_archived_and_merged_records_reach_the_target(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=6, contacts=40)
    settings = {**config, "include_archived": True}
    first = run_tap(settings)
    assert not any(r["archived"] for r in first.records["contacts"])

    contacts = [c["id"] for c in hubspot.dump("contacts")]
    companies = [c["id"] for c in hubspot.dump("companies")]
    hubspot.archive("contacts", contacts[0])
    hubspot.archive("companies", companies[0])
    hubspot.merge("contacts", contacts[1], contacts[2], new_id=False)  # legacy merges
    hubspot.merge("companies", companies[1], companies[2], new_id=False)

    second = run_tap(settings, state=first.last_state)

    by_id = {r["id"]: r for r in second.records["contacts"]}
    deleted = by_id[contacts[0]]
    assert deleted["archived"] is True
    assert deleted["_sdc_deleted_at"]
    assert by_id[contacts[1]]["merged_ids"] == [contacts[2]]
    assert by_id[contacts[1]]["archived"] is False
    assert contacts[2] not in by_id
    companies_by_id = {r["id"]: r for r in second.records["companies"]}
    assert companies_by_id[companies[0]]["archived"] is True
    assert companies_by_id[companies[1]]["merged_ids"] == [companies[2]]

    third = run_tap(settings, state=second.last_state)
    assert not third.records.get("contacts"), "archived records are reported once"


def run_cli_until_states(
    command: list[str], states_before_kill: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the CLI, SIGKILL it after N STATE lines; returns records read and the last STATE."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    delivered: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    last_state: dict[str, Any] = {}
    seen_states = 0
    for line in proc.stdout:
        message = json.loads(line)
        if message["type"] == "RECORD":
            pending.append(message)
        elif message["type"] == "STATE":
            # Like a target: records count as delivered once a STATE follows them.
            delivered += pending
            pending = []
            last_state = message["value"]
            if "run" in json.dumps(last_state):
                seen_states += 1
            if seen_states >= states_before_kill:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=30)
    proc.stdout.close()
    return delivered, last_state


def test_a_run_killed_mid_stream_resumes_from_its_last_state_with_nothing_lost(
    hubspot: HubSpotEmulator, config: dict[str, Any], tmp_path: Path
) -> None:
    hubspot.seed(companies=3, contacts=1200)
    # Slow every page a little so the kill lands mid-stream.
    slow = {"action": "latency", "delay_s": 0.05, "times": None}
    hubspot.set_faults([{"path": "/crm/objects/2026-09/contacts", **slow}])
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    all_ids = {c["id"] for c in hubspot.dump("contacts")}

    delivered, state = run_cli_until_states(cli_command(config_path), states_before_kill=4)
    first_ids = {m["record"]["id"] for m in delivered if m["stream"] == "contacts"}
    assert 0 < len(first_ids) < len(all_ids)
    assert state["bookmarks"]["contacts"]["run"]["cursor"]

    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(state))
    resumed = subprocess.run(
        cli_command(config_path, state_path),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    second = parse_lines(resumed.stdout)
    assert first_ids | set(second.ids("contacts")) == all_ids
    # It resumed: it did not start over.
    assert len(second.ids("contacts")) <= len(all_ids) - len(first_ids) + 100
    assert "run" not in second.last_state["bookmarks"]["contacts"]


def test_an_interrupted_incremental_window_resumes_by_last_id(
    hubspot: HubSpotEmulator, config: dict[str, Any], tmp_path: Path
) -> None:
    hubspot.seed(companies=2, contacts=1500)
    hubspot.touch("contacts", timestamp="2026-06-01T00:00:00.000Z")
    hubspot.set_faults([{"path": "/search", "action": "latency", "delay_s": 0.05, "times": None}])
    settings = dict(config)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(settings))
    previous = previous_run("2026-05-31T00:00:00.000Z")
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(previous))
    all_ids = {c["id"] for c in hubspot.dump("contacts")}

    delivered, state = run_cli_until_states(
        cli_command(config_path, state_path), states_before_kill=4
    )
    first_ids = {m["record"]["id"] for m in delivered if m["stream"] == "contacts"}
    run_state = state["bookmarks"]["contacts"]["run"]
    assert run_state["strategy"] == "search"
    assert 0 < len(first_ids) < len(all_ids)

    resumed = run_tap(settings, state=state)
    assert first_ids | set(resumed.ids("contacts")) == all_ids
    assert not first_ids & set(resumed.ids("contacts")) - {run_state["cursor"]}


def test_records_changing_during_a_window_are_not_lost(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=2, contacts=1000, id_gap_max=1)
    hubspot.touch("contacts", timestamp="2026-06-01T00:00:00.000Z")
    ids = [c["id"] for c in hubspot.dump("contacts")]
    behind, ahead = ids[5], ids[-5]
    hubspot.set_faults([{"path": "/search", "action": "latency", "delay_s": 0.1, "times": None}])
    settings = dict(config)

    def change() -> None:
        for contact_id in (behind, ahead):
            hubspot.update("contacts", contact_id, {"city": "Changed"})

    changer = threading.Timer(0.3, change)
    changer.start()
    try:
        first = run_tap(settings, state=previous_run("2026-05-31T00:00:00.000Z"))
    finally:
        changer.join()
    assert 0 < len(first.ids("contacts")) < 1000  # the changed ones left this window
    second = run_tap(settings, state=first.last_state)

    assert set(first.ids("contacts")) | set(second.ids("contacts")) == set(ids)
    latest = {r["id"]: r for r in second.records["contacts"]}
    assert latest[behind]["city"] == "Changed"
    assert latest[ahead]["city"] == "Changed"


def test_search_lag_setting_keeps_late_indexed_changes_for_the_next_run(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.set_config(search_index_lag_s=1.0)
    hubspot.seed(companies=2, contacts=50)
    settings = {**config, "search_lag_seconds": 2}
    first = run_tap(settings)
    changed = [c["id"] for c in hubspot.dump("contacts")][:5]
    for contact_id in changed:
        hubspot.update("contacts", contact_id, {"city": "Late"})
    second = run_tap(settings, state=first.last_state)  # too recent: outside this window
    assert not second.records.get("contacts")
    time.sleep(2.1)
    third = run_tap(settings, state=second.last_state)
    assert sorted(third.ids("contacts")) == sorted(changed)


def test_lookback_rereads_the_end_of_the_previous_window(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=2, contacts=60)
    recent = [c["id"] for c in hubspot.dump("contacts")][:5]
    half_hour_ago = int(time.time() * 1000) - 30 * 60 * 1000
    hubspot.touch("contacts", ids=recent, timestamp=half_hour_ago)
    first = run_tap(config)
    without = run_tap(config, state=first.last_state)
    assert not without.records.get("contacts")
    with_lookback = run_tap({**config, "lookback_seconds": 3600}, state=first.last_state)
    assert sorted(with_lookback.ids("contacts")) == sorted(recent)


def test_a_short_search_page_with_a_next_cursor_does_not_end_the_window(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    # HubSpot does this: https://github.com/airbytehq/airbyte/pull/80744
    hubspot.set_config(short_search_pages=37)
    hubspot.seed(companies=50, contacts=500)
    run = run_tap(config, state=previous_run("2000-01-01T00:00:00.000Z"))
    for stream in ("companies", "contacts"):
        expected = sorted(r["id"] for r in hubspot.dump(stream))
        assert sorted(run.ids(stream)) == expected  # every record, each exactly once
    searches = hubspot.stats()["routes"][SEARCH]["total"]
    assert searches >= -(-50 // 37) + -(-500 // 37)  # the pages really were short


def test_a_start_date_in_the_future_reads_nothing_and_keeps_its_start(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=2, contacts=10)
    future = "2999-01-01T00:00:00.000Z"
    run = run_tap({**config, "start_date": future})
    assert not run.records
    assert run.last_state["bookmarks"]["contacts"]["bookmark"] == future


def test_a_run_resumed_in_its_archived_pass_skips_the_live_records_and_what_it_emitted(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=2, contacts=400)
    ids = [c["id"] for c in hubspot.dump("contacts")]
    archived = ids[:150]
    for contact_id in archived:
        hubspot.archive("contacts", contact_id)
    settings = {**config, "include_archived": True}
    catalog = select_only(discover(settings), {"contacts": {"email"}})
    first = run_tap(settings, catalog=catalog)
    assert {r["id"] for r in first.records["contacts"] if r["archived"]} == set(archived)
    # The STATE written between the two archived pages, as a killed run would leave it.
    middle = [
        s
        for s in first.states
        if s["bookmarks"].get("contacts", {}).get("run", {}).get("phase") == "archived"
        and s["bookmarks"]["contacts"]["run"]["cursor"]
    ]
    assert middle
    resumed = run_tap(settings, state=middle[-1], catalog=catalog)
    emitted = resumed.ids("contacts")
    assert all(r["archived"] for r in resumed.records["contacts"])
    assert set(emitted) == set(archived[100:])
