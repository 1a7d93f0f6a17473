"""Journal mode against the emulator's Webhooks Journal: what each run reads and what it costs.

Request counts come from the emulator (per route). CRM requests are what the portal's
10-second and daily limits count; the journal's own calls are exempt from them (HubSpot's spec
marks every journal operation `x-hubspot-rate-limit-exemptions: daily, ten-secondly`).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.tap.harness import TapRun, run_tap

STREAMS = ("companies", "contacts")


@pytest.fixture
def journal_config(oauth_config: dict[str, Any]) -> dict[str, Any]:
    """The OAuth app (install token for the CRM, client credentials for the journal)."""
    return {**oauth_config, "change_capture": "journal"}


def routes(stats: dict[str, Any], *, containing: str) -> int:
    return sum(
        int(r["total"]) for name, r in stats["routes"].items() if containing in name.split(" ")[1]
    )


def crm_reads(stats: dict[str, Any]) -> int:
    """CRM record requests (list, search, batch read): property reads left out."""
    return routes(stats, containing="/crm/objects")


def batch_reads(stats: dict[str, Any]) -> int:
    return int(
        stats["routes"]
        .get("POST /crm/objects/{version}/{object_type}/batch/read", {})
        .get("total", 0)
    )


def journal_calls(stats: dict[str, Any]) -> int:
    return routes(stats, containing="/webhooks-journal/")


def activations(run: TapRun) -> set[str]:
    return {m["stream"] for m in run.lines if m["type"] == "ACTIVATE_VERSION"}


def first_run(hubspot: HubSpotEmulator, settings: dict[str, Any]) -> TapRun:
    run = run_tap(settings)
    for stream in STREAMS:
        assert run.last_state["bookmarks"][stream]["journal"]["started"]
    return run


def test_the_first_run_subscribes_and_later_runs_read_only_what_the_journal_names(
    hubspot: HubSpotEmulator, journal_config: dict[str, Any]
) -> None:
    hubspot.seed(companies=5, contacts=120)
    first = first_run(hubspot, journal_config)
    assert len(first.records["contacts"]) == 120

    hubspot.reset_stats()
    idle = run_tap(journal_config, state=first.last_state)
    stats = hubspot.stats()
    assert not idle.records
    assert crm_reads(stats) == 0
    assert journal_calls(stats) == 1  # one batch `next`: nothing newer
    # In all: the property definitions and that call (the portal id is remembered in STATE).
    assert stats["total"] - routes(stats, containing="/oauth/") <= 3

    contacts = [c["id"] for c in hubspot.dump("contacts")][:7]
    for contact_id in contacts:
        hubspot.update("contacts", contact_id, {"city": "Lisbon"})
    company = hubspot.dump("companies")[0]["id"]
    hubspot.update("companies", company, {"name": "Renamed"})
    hubspot.reset_stats()

    changed = run_tap(journal_config, state=idle.last_state)

    stats = hubspot.stats()
    assert sorted(changed.ids("contacts")) == sorted(contacts)
    assert all(r["city"] == "Lisbon" for r in changed.records["contacts"])
    assert changed.ids("companies") == [company]
    k = len(contacts) + 1
    assert crm_reads(stats) == batch_reads(stats) == 2  # one batch read per stream
    assert crm_reads(stats) <= math.ceil(k / 100) + 3
    assert changed.last_state["bookmarks"]["companies"]["journal"]["offset"]

    hubspot.reset_stats()
    again = run_tap(journal_config, state=changed.last_state)
    assert not again.records  # the offset moved: nothing is read twice
    assert crm_reads(hubspot.stats()) == 0


def test_an_association_change_that_does_not_touch_the_contact_re_links_it(
    hubspot: HubSpotEmulator, journal_config: dict[str, Any]
) -> None:
    hubspot.set_config(association_changes_touch_contacts=False)
    hubspot.seed(companies=6, contacts=60)
    first = first_run(hubspot, journal_config)
    contact = next(c for c in hubspot.dump("contacts") if c["primary_company_id"])
    other = next(
        c["id"] for c in hubspot.dump("companies") if c["id"] != contact["primary_company_id"]
    )
    hubspot.update("contacts", contact["id"], primary_company_id=other)
    hubspot.reset_stats()

    run = run_tap(journal_config, state=first.last_state)

    assert run.ids("contacts") == [contact["id"]]
    assert run.records["contacts"][0]["primary_company_id"] == other
    stats = hubspot.stats()
    assert routes(stats, containing="/search") == 0  # no sweep, no window search
    assert crm_reads(stats) == 1


def test_only_a_changed_account_id_re_links_the_companys_contacts(
    hubspot: HubSpotEmulator, journal_config: dict[str, Any]
) -> None:
    hubspot.seed(companies=6, contacts=60, id_share=1.0)
    settings = {**journal_config, "account_id_property": "gather_account_id"}
    first = first_run(hubspot, settings)
    contacts = hubspot.dump("contacts")
    companies = [c for c in hubspot.dump("companies") if c["id"]]
    company = next(c["primary_company_id"] for c in contacts if c["primary_company_id"])
    renamed = next(c["id"] for c in companies if c["id"] != company)
    linked = {c["id"] for c in contacts if c["primary_company_id"] == company}
    hubspot.update("companies", company, {"gather_account_id": "A-NEW"})
    hubspot.update("companies", renamed, {"name": "Only the name changed"})
    hubspot.reset_stats()

    run = run_tap(settings, state=first.last_state)

    by_id = {r["id"]: r for r in run.records["contacts"]}
    assert set(by_id) == linked  # the renamed company's contacts are not re-read
    assert {r["primary_company_account_id"] for r in by_id.values()} == {"A-NEW"}
    assert routes(hubspot.stats(), containing="/search") == 1  # one IN search


def test_deletes_privacy_deletes_and_merges_reach_the_target_as_records_it_understands(
    hubspot: HubSpotEmulator, journal_config: dict[str, Any]
) -> None:
    hubspot.seed(companies=3, contacts=30)
    first = first_run(hubspot, journal_config)
    ids = [c["id"] for c in hubspot.dump("contacts")]
    archived, erased, primary, absorbed = ids[0], ids[1], ids[2], ids[3]
    hubspot.archive("contacts", archived)
    hubspot.privacy_delete("contacts", erased)
    merged = hubspot.merge("contacts", primary, absorbed)

    run = run_tap(journal_config, state=first.last_state)

    by_id = {r["id"]: r for r in run.records["contacts"]}
    assert by_id[archived]["archived"] is True
    assert by_id[archived]["_sdc_deleted_at"]
    assert by_id[erased]["archived"] is True  # a tombstone: HubSpot has nothing left of it
    assert by_id[erased]["_sdc_deleted_at"]
    survivor = by_id[str(merged["id"])]
    assert {primary, absorbed} <= {*survivor["merged_ids"], survivor["id"]}
    assert absorbed not in by_id or by_id[absorbed]["id"] == survivor["id"]


@pytest.mark.hubspot_journal(duplicate_events=True, shuffle_events=True, merge_deletes=True)
def test_duplicated_shuffled_events_and_a_delete_beside_a_merge_change_nothing(
    hubspot: HubSpotEmulator, journal_config: dict[str, Any]
) -> None:
    hubspot.seed(companies=3, contacts=40)
    first = first_run(hubspot, journal_config)
    ids = [c["id"] for c in hubspot.dump("contacts")]
    for contact_id in ids[:5]:
        hubspot.update("contacts", contact_id, {"city": "Porto"})
    merged = hubspot.merge("contacts", ids[10], ids[11])

    run = run_tap(journal_config, state=first.last_state)

    emitted = run.ids("contacts")
    assert len(emitted) == len(set(emitted))  # each record once
    by_id = {r["id"]: r for r in run.records["contacts"]}
    assert set(ids[:5]) <= set(by_id)
    assert all(by_id[i]["city"] == "Porto" for i in ids[:5])
    survivor = by_id[str(merged["id"])]
    assert survivor["archived"] is False
    # The merged-away ids are not retired as deletes: the survivor's merged_ids carry them.
    assert all(by_id.get(i, survivor)["id"] == survivor["id"] for i in (ids[10], ids[11]))


def test_an_expired_offset_runs_one_complete_pass_then_the_journal_resumes(
    hubspot: HubSpotEmulator, journal_config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    hubspot.seed(companies=4, contacts=50)
    first = first_run(hubspot, journal_config)
    contacts = [c["id"] for c in hubspot.dump("contacts")]
    hubspot.update("contacts", contacts[0], {"city": "Faro"})
    read = run_tap(journal_config, state=first.last_state)  # the offset is an entry's now
    assert read.ids("contacts") == [contacts[0]]
    hubspot.update("contacts", contacts[1], {"city": "Tavira"})
    hubspot.publish_journal()
    hubspot.time_travel(days=4)  # past the journal's three days

    with caplog.at_level(logging.WARNING):
        recovered = run_tap(journal_config, state=read.last_state)

    assert "expired or is unknown" in caplog.text
    assert activations(recovered) == set(STREAMS)
    assert len(recovered.records["contacts"]) == 50
    hubspot.reset_stats()
    after = run_tap(journal_config, state=recovered.last_state)
    assert not after.records
    assert crm_reads(hubspot.stats()) == 0


def test_a_journal_error_runs_one_complete_pass_then_the_journal_resumes(
    hubspot: HubSpotEmulator, journal_config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    hubspot.seed(companies=4, contacts=50)
    first = first_run(hubspot, journal_config)
    hubspot.set_journal(error_status=503)
    with caplog.at_level(logging.WARNING):
        failed = run_tap({**journal_config, "max_retries": 1}, state=first.last_state)
    assert "Webhooks Journal" in caplog.text
    assert len(failed.records["contacts"]) == 50  # polled or complete: nothing lost

    hubspot.set_journal(error_status=None)
    recovered = run_tap(journal_config, state=failed.last_state)
    hubspot.reset_stats()
    after = run_tap(journal_config, state=recovered.last_state)
    assert not after.records
    assert journal_calls(hubspot.stats()) == 1


@pytest.mark.parametrize(
    ("switches", "said"),
    [
        ({"app_installed": False}, "not installed"),
        ({"withheld_scopes": ["developer.webhooks_journal.read"]}, "scope"),
    ],
)
def test_without_the_install_or_a_scope_the_tap_says_which_and_polls(
    hubspot: HubSpotEmulator,
    journal_config: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    switches: dict[str, Any],
    said: str,
) -> None:
    hubspot.set_journal(**switches)
    hubspot.seed(companies=3, contacts=30)
    with caplog.at_level(logging.WARNING):
        first = run_tap(journal_config)
    assert said in caplog.text
    assert "Polling this run" in caplog.text
    assert len(first.records["contacts"]) == 30
    contact = hubspot.dump("contacts")[0]["id"]
    hubspot.update("contacts", contact, {"city": "Braga"})
    second = run_tap(journal_config, state=first.last_state)
    assert second.ids("contacts") == [contact]  # the polling window found it


def test_switching_from_polling_to_the_journal_loses_nothing(
    hubspot: HubSpotEmulator, journal_config: dict[str, Any]
) -> None:
    hubspot.seed(companies=3, contacts=40)
    polled = run_tap({**journal_config, "change_capture": "poll"})
    contacts = [c["id"] for c in hubspot.dump("contacts")]
    hubspot.update("contacts", contacts[0], {"city": "Evora"})

    # The first journal run takes the newest offset, then still reads its polling window.
    switching = run_tap(journal_config, state=polled.last_state)
    assert switching.ids("contacts") == [contacts[0]]
    assert switching.last_state["bookmarks"]["contacts"]["journal"]["catch_up_until"]

    hubspot.update("contacts", contacts[1], {"city": "Beja"})
    hubspot.reset_stats()
    first_journal = run_tap(journal_config, state=switching.last_state)
    # The journal names contacts[1]; one catch-up search per stream covers the seconds the
    # polling window left to the search lag.
    assert contacts[1] in first_journal.ids("contacts")
    assert routes(hubspot.stats(), containing="/search") == 2

    hubspot.reset_stats()
    run_tap(journal_config, state=first_journal.last_state)
    assert routes(hubspot.stats(), containing="/search") == 0


def test_the_offset_and_the_handed_over_ids_are_checkpointed_together(
    hubspot: HubSpotEmulator, journal_config: dict[str, Any]
) -> None:
    hubspot.seed(companies=3, contacts=40)
    first = first_run(hubspot, journal_config)
    contact = hubspot.dump("contacts")[5]["id"]
    hubspot.update("contacts", contact, {"city": "Sines"})

    run = run_tap(journal_config, state=first.last_state)

    # A STATE before any contact is read already holds the new offset and the contact's id:
    # a run killed there resumes with both.
    handed = [
        s
        for s in run.states
        if s["bookmarks"]["companies"]["journal"]["offset"]
        and contact in s["bookmarks"]["contacts"].get("journal", {}).get("pending", [])
    ]
    assert handed
    assert "pending" not in run.last_state["bookmarks"]["contacts"]["journal"]


@pytest.mark.parametrize(("app", "journal"), [(True, True), (False, False)])
def test_change_capture_auto_uses_the_journal_when_the_app_credentials_are_set(
    hubspot: HubSpotEmulator,
    journal_config: dict[str, Any],
    config: dict[str, Any],
    app: bool,
    journal: bool,
) -> None:
    hubspot.seed(companies=2, contacts=10)
    settings = {**(journal_config if app else config), "change_capture": "auto"}
    run = run_tap(settings)
    assert len(run.records["contacts"]) == 10
    assert (journal_calls(hubspot.stats()) > 0) is journal
