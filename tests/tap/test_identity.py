"""Tap side of identity over time: complete passes, reconciliation, relinking, first-run speed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.tap.harness import TapRun, run_tap
from tests.tap.test_incremental import LIST, SEARCH, route_total

STREAMS = ("companies", "contacts")


def activations(run: TapRun) -> dict[str, int]:
    return {m["stream"]: m["version"] for m in run.lines if m["type"] == "ACTIVATE_VERSION"}


def versions(run: TapRun, stream: str) -> set[Any]:
    return {m.get("version") for m in run.lines if m["type"] == "RECORD" and m["stream"] == stream}


def test_a_first_full_run_is_a_complete_pass_ending_with_activate_version(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=5, contacts=40)

    first = run_tap(config)

    versions_seen = activations(first)
    assert set(versions_seen) == set(STREAMS)
    for stream in STREAMS:
        assert versions(first, stream) == {versions_seen[stream]}
    assert all(first.last_state["bookmarks"][s]["verified_at"] for s in STREAMS)

    second = run_tap(config, state=first.last_state)  # incremental: no complete pass
    assert not activations(second)


def test_reconcile_auto_relists_when_no_recent_archived_pass_is_known(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=5, contacts=40)
    settings = {**config, "reconcile": "auto"}
    first = run_tap(settings)
    recent = first.last_state

    hubspot.reset_stats()
    assert not activations(run_tap(settings, state=recent))
    assert route_total(hubspot.stats(), LIST) == 0

    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=91)
    stale = {
        "bookmarks": {
            s: {**recent["bookmarks"][s], "verified_at": old.isoformat()} for s in STREAMS
        }
    }
    unknown = {
        "bookmarks": {
            s: {k: v for k, v in recent["bookmarks"][s].items() if k != "verified_at"}
            for s in STREAMS
        }
    }
    for state in (stale, unknown):
        hubspot.reset_stats()
        run = run_tap(settings, state=state)
        assert set(activations(run)) == set(STREAMS)
        assert len(run.records["contacts"]) == 40  # every live record, changed or not
        assert route_total(hubspot.stats(), SEARCH) == 0


def test_a_first_run_with_an_old_start_date_lists_instead_of_searching(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=5, contacts=450)
    hubspot.reset_stats()

    run = run_tap({**config, "start_date": "2000-01-01T00:00:00Z"})

    assert len(run.records["contacts"]) == 450
    stats = hubspot.stats()
    assert route_total(stats, LIST) == 5  # contacts: ceil(450 / 100)
    # Contacts: the window's first search page (its `total`: 450 qualify) and one count of
    # every contact; listing wins. Companies: that first page only (5 qualify: it reads them,
    # no count).
    assert route_total(stats, SEARCH) == 2 + 1

    hubspot.touch("contacts", ids=[c["id"] for c in hubspot.dump("contacts")[:5]])
    recent = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=30)).isoformat()
    hubspot.reset_stats()
    few = run_tap({**config, "start_date": recent})
    assert len(few.records["contacts"]) == 5
    assert route_total(hubspot.stats(), LIST) == 0  # 5 of 450 qualify: search is cheaper
    # One search page per stream, no count: planning's first page is the run's.
    assert route_total(hubspot.stats(), SEARCH) == 2


def test_contacts_of_a_company_whose_account_id_changed_are_re_emitted_with_it(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=6, contacts=60, id_share=1.0)
    settings = {**config, "account_id_property": "gather_account_id"}
    first = run_tap(settings)
    contacts = hubspot.dump("contacts")
    company = next(c["primary_company_id"] for c in contacts if c["primary_company_id"])
    linked = {c["id"] for c in contacts if c["primary_company_id"] == company}
    hubspot.update("companies", company, {"gather_account_id": "A-NEW"})
    hubspot.reset_stats()

    second = run_tap(settings, state=first.last_state)

    relinked = {r["id"]: r for r in second.records["contacts"]}
    assert set(relinked) == linked  # exactly its contacts, although none of them changed
    assert {r["primary_company_account_id"] for r in relinked.values()} == {"A-NEW"}
    # Companies window + contacts window + one IN search for the one company.
    assert route_total(hubspot.stats(), SEARCH) == 3
    assert "relink" not in second.last_state["bookmarks"]["companies"]


def test_the_relink_sweep_finds_a_contact_re_pointed_without_a_modified_date_change(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.set_config(association_changes_touch_contacts=False)
    hubspot.seed(companies=6, contacts=60)
    first = run_tap(config)
    contacts = hubspot.dump("contacts")
    contact = next(c for c in contacts if c["primary_company_id"])
    other = next(
        c["id"] for c in hubspot.dump("companies") if c["id"] != contact["primary_company_id"]
    )
    hubspot.update("contacts", contact["id"], primary_company_id=other)

    without = run_tap(config, state=first.last_state)
    assert contact["id"] not in without.ids("contacts")  # invisible to an incremental search

    sweeping = {**config, "relink_sweep": True, "relink_sweep_interval": 0}
    swept = run_tap(sweeping, state=first.last_state)
    by_id = {r["id"]: r for r in swept.records["contacts"]}
    assert by_id[contact["id"]]["primary_company_id"] == other
    assert len(by_id) == len(contacts)
