"""The typed run state and what polling costs: one read per record on a first sync, a relink
sweep at most once per interval, no re-link of companies the previous run already read."""

from __future__ import annotations

import datetime as dt
from typing import Any

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.run_state import Phase, Run, Strategy, StreamState
from tests.tap.harness import run_tap
from tests.tap.test_incremental import LIST, SEARCH, route_total


def listed(stats: dict[str, Any]) -> int:
    """List requests (the emulator counts them per route, both objects together)."""
    return route_total(stats, LIST)


def test_a_state_written_before_the_typed_state_is_read_and_its_run_continues(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=4, contacts=80, id_share=1.0)
    settings = {**config, "account_id_property": "gather_account_id"}
    first = run_tap(settings)
    contacts = hubspot.dump("contacts")
    company = next(c["primary_company_id"] for c in contacts if c["primary_company_id"])
    linked = {c["id"] for c in contacts if c["primary_company_id"] == company}
    bookmark = first.last_state["bookmarks"]["contacts"]["bookmark"]
    # The shape the tap wrote before: a run stopped on entering its relink phase, as a dict.
    old = {
        "bookmarks": {
            "companies": {"bookmark": bookmark, "verified_at": bookmark},
            "contacts": {
                "bookmark": bookmark,
                "verified_at": bookmark,
                "run": {
                    "strategy": "search",
                    "phase": "relink",
                    "window_start": bookmark,
                    "window_end": bookmark,
                    "cursor": None,
                    "since": None,
                    "version": None,
                    "relink_ids": [company],
                    "relink_at": 0,
                },
            },
        }
    }
    hubspot.reset_stats()

    resumed = run_tap(settings, state=old)

    assert set(resumed.ids("contacts")) == linked
    assert "run" not in resumed.last_state["bookmarks"]["contacts"]
    assert route_total(hubspot.stats(), SEARCH) == 1 + 1  # companies' window, one IN search


def test_the_typed_state_keeps_what_it_does_not_own_and_drops_an_unreadable_run() -> None:
    raw = {
        "bookmark": "2026-01-01T00:00:00.000Z",
        "replication_key": "updatedAt",
        "run": {"strategy": "mystery", "window_end": "2026-01-02T00:00:00.000Z"},
    }
    saved = StreamState.from_dict(raw)
    assert saved.run is None  # planned again from the bookmark
    saved.run = Run(Strategy.SEARCH, Phase.LIVE, window_end="2026-01-02T00:00:00.000Z")
    saved.write_into(raw)
    assert raw["replication_key"] == "updatedAt"
    assert StreamState.from_dict(raw).run == saved.run


def test_a_first_sync_with_an_internal_account_id_reads_each_contact_once(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=12, contacts=450, id_share=1.0)
    settings = {
        **config,
        "account_id_property": "gather_account_id",
        "lookback_seconds": 600,
        "relink_sweep": True,
        "include_archived": True,
    }
    hubspot.reset_stats()

    first = run_tap(settings)

    assert len(first.ids("contacts")) == 450  # each once
    # companies 1, contacts ceil(450 / 100) = 5, one archived page each: no second pass.
    assert listed(hubspot.stats()) == 1 + 5 + 2

    hubspot.reset_stats()
    second = run_tap(settings, state=first.last_state)
    # Every company was modified inside run 2's lookback, but run 1 listed them all: nothing
    # is re-linked, nothing re-emitted, and the sweep waits for its interval.
    assert second.ids("contacts") == []
    assert listed(hubspot.stats()) == 2  # the archived pages only


def test_the_relink_sweep_runs_at_most_once_per_interval_remembered_in_state(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=5, contacts=250)
    settings = {**config, "relink_sweep": True}
    first = run_tap(settings)
    listed_at = first.last_state["bookmarks"]["contacts"]["listed_at"]
    assert listed_at == first.last_state["bookmarks"]["contacts"]["bookmark"]

    hubspot.reset_stats()
    inside = run_tap(settings, state=first.last_state)
    assert listed(hubspot.stats()) == 0  # a plain incremental run: two searches
    assert route_total(hubspot.stats(), SEARCH) == 2
    assert inside.last_state["bookmarks"]["contacts"]["listed_at"] == listed_at

    day_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=24, minutes=1)
    stale = inside.last_state
    stale["bookmarks"]["contacts"]["listed_at"] = day_ago.isoformat()
    hubspot.reset_stats()
    due = run_tap(settings, state=stale)
    assert listed(hubspot.stats()) == 3  # the sweep: ceil(250 / 100)
    assert len(due.ids("contacts")) == 250
    swept_at = due.last_state["bookmarks"]["contacts"]["listed_at"]
    assert swept_at > day_ago.isoformat()

    hubspot.reset_stats()
    run_tap({**settings, "relink_sweep_interval": 3600}, state=due.last_state)
    assert listed(hubspot.stats()) == 0


def test_a_company_changed_after_the_previous_run_still_re_links_its_contacts(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=6, contacts=60, id_share=1.0)
    settings = {**config, "account_id_property": "gather_account_id", "lookback_seconds": 600}
    first = run_tap(settings)
    contacts = hubspot.dump("contacts")
    company = next(c["primary_company_id"] for c in contacts if c["primary_company_id"])
    linked = {c["id"] for c in contacts if c["primary_company_id"] == company}
    hubspot.update("companies", company, {"gather_account_id": "A-MOVED"})

    second = run_tap(settings, state=first.last_state)

    by_id = {r["id"]: r for r in second.records["contacts"]}
    assert set(by_id) == linked
    assert {r["primary_company_account_id"] for r in by_id.values()} == {"A-MOVED"}
