"""What a run costs HubSpot before it reads a record: property definitions and the portal id.

Counts come from the emulator's stats by route. A sync given a catalog types its values from
the catalog (no property reads); the portal id is read at most once and then remembered in
STATE, or taken from the OAuth refresh answer's `hub_id`.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from typing import Any

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.tap.harness import discover, run_tap

PROPERTIES = "/crm/properties/"
ACCOUNT = "/account-info/"


def calls(stats: dict[str, Any], containing: str) -> int:
    return sum(int(r["total"]) for name, r in stats["routes"].items() if containing in name)


def test_a_sync_given_a_catalog_reads_no_property_definitions_and_types_values_the_same(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=4, contacts=30)
    catalog = discover(config)
    without = run_tap(config)
    hubspot.reset_stats()

    given = run_tap(config, catalog=catalog)

    stats = hubspot.stats()
    assert calls(stats, PROPERTIES) == 0
    assert given.records == without.records  # every value typed as discovery typed it
    for stream in ("companies", "contacts"):
        assert given.schemas[stream]["schema"] == without.schemas[stream]["schema"]


def test_a_catalog_missing_what_the_sync_needs_reads_the_definitions(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=2, contacts=5)
    catalog = discover(config)
    broken = copy.deepcopy(catalog)
    for entry in broken["streams"]:
        if entry["tap_stream_id"] == "contacts":
            del entry["schema"]["properties"]["lastmodifieddate"]
    hubspot.reset_stats()

    run = run_tap(config, catalog=broken)

    assert calls(hubspot.stats(), PROPERTIES) == 2  # read again: both objects, once
    assert len(run.records["contacts"]) == 5


def test_a_catalog_typed_property_converts_as_its_schema_says(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=1, contacts=3)
    catalog = discover(config)
    types = {}
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "contacts":
            types = entry["schema"]["properties"]
    numbers = [n for n, s in types.items() if "number" in s.get("type", [])]
    dates = [n for n, s in types.items() if s.get("format") == "date-time"]
    assert numbers
    assert dates

    run = run_tap(config, catalog=catalog)

    for record in run.records["contacts"]:
        for name in numbers:
            assert record.get(name) is None or isinstance(record[name], (int, float))
        for name in dates:
            assert record.get(name) is None or str(record[name]).endswith("Z")


def test_the_portal_id_is_read_once_and_remembered(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=2, contacts=5)
    first = run_tap(config)
    assert calls(hubspot.stats(), ACCOUNT) == 1
    for stream in ("companies", "contacts"):
        assert first.last_state["bookmarks"][stream]["portal_id"] == hubspot.hub_id
    hubspot.update("contacts", hubspot.dump("contacts")[0]["id"], {"city": "Porto"})
    hubspot.reset_stats()

    second = run_tap(config, state=first.last_state)

    assert calls(hubspot.stats(), ACCOUNT) == 0
    assert {r["portal_id"] for r in second.records["contacts"]} == {str(hubspot.hub_id)}


def test_an_oauth_run_takes_the_portal_id_from_the_refresh_answer(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=2, contacts=5)
    client = hubspot.oauth_client
    settings = {k: v for k, v in config.items() if k != "access_token"}
    oauth = {
        **settings,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "refresh_token": client.refresh_token,
    }
    hubspot.reset_stats()

    run = run_tap(oauth)

    assert calls(hubspot.stats(), ACCOUNT) == 0
    assert {r["portal_id"] for r in run.records["contacts"]} == {str(hubspot.hub_id)}


def test_a_first_run_with_a_start_date_counts_only_when_one_page_cannot_tell(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=3, contacts=450)
    touched = [c["id"] for c in hubspot.dump("contacts")[:250]]
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)).isoformat()
    hubspot.touch("contacts", ids=touched)
    hubspot.reset_stats()

    run = run_tap({**config, "start_date": since})

    assert sorted(run.ids("contacts")) == sorted(touched)  # each once
    stats = hubspot.stats()
    assert calls(stats, "/objects/{version}/{object_type}/search") == (
        1  # companies: the first page (none match), no count
        + 2  # contacts: ceil(250 / 200) pages, the first read while planning
        + 1  # contacts: one count of every contact (250 > one page: list or search?)
    )
    assert calls(stats, "GET /crm/objects/") == 0  # searching 250 of 450 beats listing


def test_journal_runs_given_a_catalog_pay_only_the_journal_and_the_batch_reads(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=4, contacts=150)
    client = hubspot.oauth_client
    settings = {
        **{k: v for k, v in config.items() if k != "access_token"},
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "refresh_token": client.refresh_token,
        "change_capture": "journal",
    }
    catalog = discover(settings)
    first = run_tap(settings, catalog=catalog)
    hubspot.reset_stats()

    idle = run_tap(settings, state=first.last_state, catalog=catalog)

    stats = hubspot.stats()
    api = stats["total"] - calls(stats, "/oauth/")
    assert api == 1  # the journal call: no property reads, the portal id from the token
    contacts = [c["id"] for c in hubspot.dump("contacts")]
    updated, deleted = contacts[:120], contacts[120:135]
    for contact_id in updated:
        hubspot.update("contacts", contact_id, {"city": "Lisbon"})
    for contact_id in deleted:
        hubspot.archive("contacts", contact_id)
    hubspot.reset_stats()

    changed = run_tap(settings, state=idle.last_state, catalog=catalog)

    stats = hubspot.stats()
    emitted = {r["id"]: r for r in changed.records["contacts"]}
    assert set(emitted) == set(updated) | set(deleted)
    assert all(emitted[i]["archived"] for i in deleted)
    assert not any(emitted[i]["archived"] for i in updated)
    k = len(updated) + len(deleted)
    batch = calls(stats, "/batch/read")
    assert batch == 2 + 1  # 120 live ids: 2 requests; 15 deleted ids: 1 (archived=true)
    assert calls(stats, PROPERTIES) == calls(stats, ACCOUNT) == 0
    assert stats["total"] - calls(stats, "/oauth/") - calls(
        stats, "/hubspot-webhooks-journal/"
    ) <= (math.ceil(k / 100) + 3)
