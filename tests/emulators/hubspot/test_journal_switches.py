"""The journal's switches: duplicated and shuffled events, delayed visibility, file size, the
5xx error mode, an app that is not installed or lacks scopes; set through the admin API, the
command line and the `hubspot_journal` pytest marker."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import AdminCallError, HubSpotEmulator, HubSpotEmulatorProcess
from tests.emulators.hubspot.journal_client import JOURNAL, SUBSCRIPTIONS, Journal


@pytest.fixture
def journal(emulator: HubSpotEmulator) -> Journal:
    app = Journal(emulator)
    app.subscribe_all()
    return app


def _contacts(emulator: HubSpotEmulator, count: int) -> list[int]:
    """Create `count` contacts (no email, so any number of calls can add more)."""
    return [int(emulator.create("contacts", {"firstname": f"C{i}"})["id"]) for i in range(count)]


def _keys(events: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(e["action"], e["objectId"]) for e in events]


def test_duplicate_events_writes_each_event_twice(journal: Journal) -> None:
    journal.emulator.set_journal(duplicate_events=True)
    ids = _contacts(journal.emulator, 3)
    events, _ = journal.events_after(None)
    assert _keys(events) == [("CREATE", i) for i in ids] * 2  # the copies after the originals


def test_shuffle_events_reorders_within_a_file(journal: Journal) -> None:
    journal.emulator.set_journal(shuffle_events=True, shuffle_seed=7)
    ids = _contacts(journal.emulator, 30)
    events, _ = journal.events_after(None)
    assert sorted(_keys(events)) == [("CREATE", i) for i in ids]
    assert _keys(events) != [("CREATE", i) for i in ids]


def test_visibility_delay_holds_entries_back(journal: Journal) -> None:
    journal.emulator.set_journal(visibility_delay_s=600)
    _contacts(journal.emulator, 1)
    assert journal.get(JOURNAL + "/latest").status_code == 204
    (published,) = journal.emulator.journal_files()
    assert published["visible"] is False
    journal.emulator.time_travel(seconds=601)
    events, offset = journal.events_after(None)
    assert len(events) == 1
    _contacts(journal.emulator, 1)
    assert journal.get(JOURNAL + f"/offset/{offset}/next").status_code == 204  # not yet
    journal.emulator.time_travel(seconds=601)
    assert journal.get(JOURNAL + f"/offset/{offset}/next").status_code == 200


def test_files_hold_at_most_file_max_events(journal: Journal) -> None:
    journal.emulator.set_journal(file_max_events=2)
    ids = _contacts(journal.emulator, 5)
    journal.emulator.publish_journal()
    sizes = [len(f["events"]) for f in journal.emulator.journal_files()]
    assert sizes == [2, 2, 1]
    events, _ = journal.events_after(None)
    assert _keys(events) == [("CREATE", i) for i in ids]


def test_error_status_answers_journal_and_subscription_calls(journal: Journal) -> None:
    journal.emulator.set_journal(error_status=503)
    for method, path in (("GET", JOURNAL + "/latest"), ("GET", SUBSCRIPTIONS)):
        response = journal.request(method, path)
        assert response.status_code == 503
        assert response.json()["category"] == "SERVICE_UNAVAILABLE"
    journal.emulator.set_journal(error_status=None)
    assert journal.get(JOURNAL + "/latest").status_code == 204


def test_an_uninstalled_app_gets_no_events(journal: Journal) -> None:
    journal.emulator.set_journal(app_installed=False)
    _contacts(journal.emulator, 2)
    journal.emulator.set_journal(app_installed=True)
    assert journal.events_after(None)[0] == []
    assert len(journal.get(SUBSCRIPTIONS).json()["results"]) == 4  # subscriptions survive


def test_withheld_object_scope_stops_its_events(journal: Journal) -> None:
    journal.emulator.set_journal(withheld_scopes=["crm.objects.contacts.read"])
    _contacts(journal.emulator, 1)
    company = int(journal.emulator.create("companies", {"name": "A"})["id"])
    events, _ = journal.events_after(None)
    assert _keys(events) == [("CREATE", company)]


def test_bad_settings_are_refused(emulator: HubSpotEmulator) -> None:
    for bad in ({"retention_days": -1}, {"error_status": 404}, {"nope": 1}, {"shuffle_events": 1}):
        with pytest.raises(AdminCallError) as caught:
            emulator.set_journal(**bad)
        assert caught.value.status == 400


@pytest.mark.hubspot_journal(duplicate_events=True, retention_days=1.5)
def test_the_marker_sets_journal_settings(hubspot_emulator: HubSpotEmulator) -> None:
    settings = hubspot_emulator.journal_settings()
    assert settings["duplicate_events"] is True
    assert settings["retention_days"] == 1.5
    assert settings["shuffle_events"] is False


def test_command_line_flags(
    hubspot_emulator_process: Callable[..., HubSpotEmulatorProcess],
) -> None:
    process = hubspot_emulator_process(
        "--journal-retention-days",
        "2",
        "--journal-visibility-delay",
        "5",
        "--journal-duplicate-events",
        "--journal-shuffle-events",
        "--journal-merge-deletes",
        "--journal-error-status",
        "502",
        "--journal-app-not-installed",
        "--journal-withheld-scope",
        "developer.webhooks_journal.read",
        "--journal-settings",
        '{"file_max_events": 50}',
    )
    settings = process.journal_settings()
    assert settings == {
        **settings,
        "retention_days": 2.0,
        "visibility_delay_s": 5.0,
        "duplicate_events": True,
        "shuffle_events": True,
        "merge_deletes": True,
        "error_status": 502,
        "app_installed": False,
        "withheld_scopes": ["developer.webhooks_journal.read"],
        "file_max_events": 50,
    }


def test_a_bad_command_line_setting_exits_2(
    hubspot_emulator_process: Callable[..., HubSpotEmulatorProcess],
) -> None:
    with pytest.raises(RuntimeError, match="error_status"):
        hubspot_emulator_process("--journal-error-status", "404")


def test_events_are_counted_once_per_change_however_many_subscriptions(journal: Journal) -> None:
    journal.subscribe(
        subscriptionType="OBJECT", objectTypeId="0-1", actions=["CREATE"], properties=["email"]
    )  # replaces the 0-1 OBJECT subscription (same type, portal and object type)
    _contacts(journal.emulator, 2)
    events, _ = journal.events_after(None)
    assert Counter(e["action"] for e in events) == {"CREATE": 2}


def test_the_fault_plan_reaches_journal_paths_and_stats_count_them(journal: Journal) -> None:
    _contacts(journal.emulator, 1)
    journal.emulator.reset_stats()
    journal.emulator.set_faults(
        [{"path": "^/webhooks-journal/journal/", "status": 502, "times": 1}]
    )
    assert journal.get(JOURNAL + "/earliest").status_code == 502
    events, _ = journal.events_after(None)  # the next call goes through
    assert len(events) == 1
    routes = journal.emulator.stats()["routes"]
    earliest = routes["GET /webhooks-journal/journal/{journal_version}/earliest"]
    assert earliest["by_status"] == {"200": 1, "502": 1}
    assert routes["GET /hubspot-webhooks-journal/{app_id}/{offset}.json"]["total"] == 1
