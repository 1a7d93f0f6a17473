"""Polling hands a company's contacts over for re-linking only when its account ID changed.

A modified company may have changed any property; only its account ID moves its contacts'
`primary_company_account_id`. The tap reads when that one property last changed
(`propertiesWithHistory`) for the companies modified since the contacts last read every link,
and re-emits the contacts of those whose account ID changed since, once per change.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.properties import format_datetime, parse_datetime
from tap_hubspot_gather.streams import RELINKED_MAX_ENTRIES
from tests.tap.harness import TapRun, run_tap
from tests.tap.test_incremental import BATCH, SEARCH, route_total

ACCOUNT_ID = "gather_account_id"


@pytest.fixture
def settings(config: dict[str, Any]) -> dict[str, Any]:
    """Polling with an internal account ID; no sweep between the runs of a test."""
    return {**config, "account_id_property": ACCOUNT_ID, "relink_sweep": False}


def _linked(hubspot: HubSpotEmulator) -> dict[str, set[str]]:
    """Company id -> the ids of its primary contacts (companies with at least one)."""
    out: dict[str, set[str]] = {}
    for contact in hubspot.dump("contacts"):
        if contact["primary_company_id"]:
            out.setdefault(contact["primary_company_id"], set()).add(contact["id"])
    return out


def _synced(hubspot: HubSpotEmulator, settings: dict[str, Any], seed: int) -> tuple[TapRun, str]:
    """A first sync of a small portal, and a company with contacts to change."""
    hubspot.seed(companies=6, contacts=60, id_share=1.0, seed=seed)
    first = run_tap(settings)
    return first, sorted(_linked(hubspot))[0]


def _account(run: TapRun) -> dict[str, str | None]:
    return {r["id"]: r["primary_company_account_id"] for r in run.records["contacts"]}


def test_only_companies_whose_account_id_changed_hand_their_contacts_over(
    hubspot: HubSpotEmulator, settings: dict[str, Any]
) -> None:
    hubspot.seed(companies=12, contacts=120, id_share=1.0, seed=5)
    first = run_tap(settings)
    linked = _linked(hubspot)
    rekeyed, *renamed = sorted(linked)[:6]
    hubspot.update("companies", rekeyed, {ACCOUNT_ID: "A-REKEYED"})
    for company in renamed:  # modified, account ID untouched
        hubspot.update("companies", company, {"name": f"Renamed {company}", "city": "Oslo"})
    hubspot.reset_stats()

    second = run_tap(settings, state=first.last_state)

    assert sorted(second.ids("companies")) == sorted([rekeyed, *renamed])
    assert _account(second) == dict.fromkeys(linked[rekeyed], "A-REKEYED")
    stats = hubspot.stats()
    # Two windows and one IN search for the re-keyed company; one history read of the 6.
    assert route_total(stats, SEARCH) == 3
    assert route_total(stats, BATCH) == 1
    companies = second.last_state["bookmarks"]["companies"]
    assert set(companies["relinked"]) == {rekeyed}
    assert "relink" not in companies


def test_a_change_handed_over_once_is_not_handed_over_again(
    hubspot: HubSpotEmulator, settings: dict[str, Any]
) -> None:
    first, company = _synced(hubspot, settings, seed=6)
    hubspot.update("companies", company, {ACCOUNT_ID: "A-ONCE"})
    second = run_tap(settings, state=first.last_state)
    assert set(_account(second).values()) == {"A-ONCE"}
    time.sleep(0.01)
    hubspot.update("companies", company, {"name": "Modified again, same account ID"})

    third = run_tap(settings, state=second.last_state)

    assert third.ids("companies") == [company]
    assert not third.records["contacts"]  # its contacts already carry A-ONCE
    time.sleep(0.01)
    hubspot.update("companies", company, {ACCOUNT_ID: "A-TWICE"})
    fourth = run_tap(settings, state=third.last_state)
    assert set(_account(fourth).values()) == {"A-TWICE"}
    assert set(_account(fourth)) == _linked(hubspot)[company]


def test_an_account_id_change_a_window_missed_is_handed_over_when_the_company_shows_up(
    hubspot: HubSpotEmulator, settings: dict[str, Any]
) -> None:
    """The change falls before the window that finally reads the company (its next write moved
    its modified date past the window that should have read it): the contacts still follow."""
    first, company = _synced(hubspot, settings, seed=7)
    time.sleep(0.01)
    hubspot.update("companies", company, {ACCOUNT_ID: "A-LATE"})
    hubspot.set_config(search_index_lag_s=3600)  # the next window cannot see it
    second = run_tap(settings, state=first.last_state)
    assert company not in second.ids("companies")
    hubspot.set_config(search_index_lag_s=0)
    time.sleep(0.01)
    hubspot.update("companies", company, {"city": "Bergen"})  # after the second window

    third = run_tap(settings, state=second.last_state)

    assert third.ids("companies") == [company]
    assert set(_account(third)) == _linked(hubspot)[company]
    assert set(_account(third).values()) == {"A-LATE"}


def test_a_sweep_reads_every_link_and_forgets_the_changes_handed_over_before_it(
    hubspot: HubSpotEmulator, settings: dict[str, Any]
) -> None:
    first, company = _synced(hubspot, settings, seed=8)
    hubspot.update("companies", company, {ACCOUNT_ID: "A-SWEPT"})
    second = run_tap(settings, state=first.last_state)
    assert company in second.last_state["bookmarks"]["companies"]["relinked"]
    links_at = second.last_state["bookmarks"]["contacts"]["links_at"]
    time.sleep(0.01)

    sweeping = {**settings, "relink_sweep": True, "relink_sweep_interval": 0}
    swept = run_tap(sweeping, state=second.last_state)

    contacts = swept.last_state["bookmarks"]["contacts"]
    assert contacts["links_at"] > links_at
    assert len(swept.records["contacts"]) == len(hubspot.dump("contacts"))
    time.sleep(0.01)
    hubspot.update("companies", company, {"name": "After the sweep"})
    after = run_tap(settings, state=swept.last_state)
    assert "relinked" not in after.last_state["bookmarks"]["companies"]
    assert not after.records["contacts"]


def test_a_state_from_before_links_were_timed_re_links_every_modified_company(
    hubspot: HubSpotEmulator, settings: dict[str, Any]
) -> None:
    """Without `links_at` (a STATE written by an older tap) the tap cannot tell which changes
    the contacts already carry: every modified company's contacts follow, as before."""
    first, company = _synced(hubspot, settings, seed=9)
    state = first.last_state
    del state["bookmarks"]["contacts"]["links_at"]
    hubspot.update("companies", company, {"name": "Renamed only"})
    hubspot.reset_stats()

    second = run_tap(settings, state=state)

    assert set(_account(second)) == _linked(hubspot)[company]
    assert route_total(hubspot.stats(), BATCH) == 0  # no history read without the moment


def test_with_the_company_id_as_account_id_no_history_is_read(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    first, company = _synced(hubspot, config, seed=10)
    hubspot.update("companies", company, {"name": "Renamed"})
    hubspot.reset_stats()

    second = run_tap(config, state=first.last_state)

    assert second.ids("companies") == [company]
    assert not second.records["contacts"]
    assert route_total(hubspot.stats(), BATCH) == 0


def test_a_sweep_resumed_after_a_kill_still_re_links_what_its_first_pages_emitted(
    hubspot: HubSpotEmulator, settings: dict[str, Any]
) -> None:
    """A killed sweep's first pages carry the links of the killed process; an account ID
    changed before the resumed run is searched for, although the sweep ends listing everything."""
    first, company = _synced(hubspot, settings, seed=11)
    linked = sorted(_linked(hubspot)[company], key=int)
    state = first.last_state
    contacts = state["bookmarks"]["contacts"]
    # Killed after the page ending with the company's first contact: the rest is still to list.
    contacts["run"] = {
        "strategy": "list",
        "phase": "live",
        "window_end": contacts["bookmark"],
        "cursor": str(int(linked[0]) + 1),
    }
    time.sleep(0.01)
    hubspot.update("companies", company, {ACCOUNT_ID: "A-RESUMED"})

    resumed = run_tap(settings, state=state)

    accounts = _account(resumed)
    assert linked[0] in accounts  # listed before the kill: searched for again
    assert {accounts[c] for c in linked} == {"A-RESUMED"}


def test_no_history_is_read_when_the_contacts_sweep_this_run(
    hubspot: HubSpotEmulator, settings: dict[str, Any]
) -> None:
    sweeping = {**settings, "relink_sweep": True, "relink_sweep_interval": 0}
    first, company = _synced(hubspot, sweeping, seed=12)
    hubspot.update("companies", company, {ACCOUNT_ID: "A-SWEEP"})
    hubspot.reset_stats()

    second = run_tap(sweeping, state=first.last_state)

    assert route_total(hubspot.stats(), BATCH) == 0
    accounts = _account(second)
    assert len(accounts) == len(hubspot.dump("contacts"))  # each contact once
    assert {accounts[c] for c in _linked(hubspot)[company]} == {"A-SWEEP"}


def test_a_cleared_account_id_re_links_the_contacts_without_an_account(
    hubspot: HubSpotEmulator, settings: dict[str, Any]
) -> None:
    """The company is no record any more (it goes to `companies_without_id`), but its
    contacts must lose their account."""
    first, company = _synced(hubspot, settings, seed=13)
    hubspot.update("companies", company, {ACCOUNT_ID: None})

    second = run_tap(settings, state=first.last_state)

    assert not second.records["companies"]
    assert [r["id"] for r in second.records["companies_without_id"]] == [company]
    assert _account(second) == dict.fromkeys(_linked(hubspot)[company])


def test_the_changes_remembered_as_handed_over_are_bounded_newest_kept(
    hubspot: HubSpotEmulator, settings: dict[str, Any]
) -> None:
    first, _ = _synced(hubspot, settings, seed=14)
    state = first.last_state
    links_at = parse_datetime(state["bookmarks"]["contacts"]["links_at"])
    older = {
        f"9{n:04d}": format_datetime(links_at + dt.timedelta(milliseconds=n))
        for n in range(RELINKED_MAX_ENTRIES + 5)
    }
    stale = {"8": "2000-01-01T00:00:00.000Z"}  # before links_at: a sweep already carried it
    state["bookmarks"]["companies"]["relinked"] = {**older, **stale}

    second = run_tap(settings, state=state)

    kept = second.last_state["bookmarks"]["companies"]["relinked"]
    assert len(kept) == RELINKED_MAX_ENTRIES
    assert "8" not in kept
    assert min(kept.values()) >= sorted(older.values())[5]


def test_re_listing_every_contact_for_many_companies_also_moves_links_at(
    hubspot: HubSpotEmulator, settings: dict[str, Any]
) -> None:
    """Beyond 1,000 companies handed over, the relink phase lists every contact: every link
    was read then, so the changes handed over before are forgotten, as after a sweep."""
    first, company = _synced(hubspot, settings, seed=15)
    state = first.last_state
    companies = state["bookmarks"]["companies"]
    links_at = state["bookmarks"]["contacts"]["links_at"]
    companies["relink_all"] = True  # as a run handing over more than 1,000 companies leaves it
    companies["relinked"] = {company: links_at}
    time.sleep(0.01)

    second = run_tap(settings, state=state)

    assert len(second.records["contacts"]) + len(second.records["contacts_without_id"]) == len(
        hubspot.dump("contacts")
    )
    assert second.last_state["bookmarks"]["contacts"]["links_at"] > links_at
    third = run_tap(settings, state=second.last_state)
    assert "relinked" not in third.last_state["bookmarks"]["companies"]
