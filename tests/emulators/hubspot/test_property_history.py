"""`propertiesWithHistory`: every read by id or list page can carry each requested property's
values, newest first, with when they were set (HubSpot's `ValueWithTimestamp`). A sync learns
from it whether a value changed after a given moment without keeping the old values itself."""

from __future__ import annotations

import time
from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from emulators.hubspot.timeutil import parse_ms
from tests.emulators.hubspot.conftest import Api

OBJECTS = "/crm/objects/2026-09"


def _history(item: dict[str, Any], name: str) -> list[tuple[str, str]]:
    return [(e["value"], e["sourceType"]) for e in item["propertiesWithHistory"][name]]


def _batch(api: Api, kind: str, ids: list[str], history: list[str]) -> dict[str, Any]:
    body = {"inputs": [{"id": i} for i in ids], "properties": [], "propertiesWithHistory": history}
    response = api.post(f"{OBJECTS}/{kind}/batch/read", body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_a_value_changed_twice_and_cleared_has_four_entries_newest_first(
    emulator: HubSpotEmulator, api: Api
) -> None:
    company = emulator.create("companies", {"name": "Acme", "city": "Lyon"})
    created = parse_ms(company["properties"]["createdate"])
    assert created is not None
    for city in ("Paris", "Nantes", None):
        time.sleep(0.005)  # distinct milliseconds
        emulator.update("companies", company["id"], {"city": city})
    item = _batch(api, "companies", [company["id"]], ["city", "name"])["results"][0]
    assert _history(item, "city") == [
        ("", "CRM_UI"),
        ("Nantes", "CRM_UI"),
        ("Paris", "CRM_UI"),
        ("Lyon", "CRM_UI"),
    ]
    stamps = [parse_ms(e["timestamp"]) for e in item["propertiesWithHistory"]["city"]]
    assert stamps == sorted(stamps, reverse=True)
    assert stamps[-1] == created  # the creation value is stamped with the creation
    # An untouched value has one entry, from the creation.
    assert _history(item, "name") == [("Acme", "CRM_UI")]
    assert parse_ms(item["propertiesWithHistory"]["name"][0]["timestamp"]) == created


def test_an_update_that_changes_nothing_adds_no_entry(emulator: HubSpotEmulator, api: Api) -> None:
    company = emulator.create("companies", {"name": "Acme"})
    emulator.update("companies", company["id"], {"name": "Acme"})
    item = _batch(api, "companies", [company["id"]], ["name"])["results"][0]
    assert _history(item, "name") == [("Acme", "CRM_UI")]


def test_history_is_served_on_list_pages_single_reads_and_not_for_unknown_names(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.seed(companies=3, contacts=0, seed=3)
    first = emulator.dump("companies")[0]
    emulator.update("companies", first["id"], {"name": "Renamed"})
    params = {"limit": 50, "propertiesWithHistory": "name,no_such_property"}
    listed = api.get(f"{OBJECTS}/companies", **params)
    assert listed.status_code == 200, listed.text
    items = listed.json()["results"]
    assert len(items) == 3
    assert all(set(i["propertiesWithHistory"]) == {"name"} for i in items)
    assert _history(items[0], "name")[0] == ("Renamed", "CRM_UI")
    assert _history(items[0], "name")[1] == (first["properties"]["name"], "CRM_UI")
    single = api.get(f"{OBJECTS}/companies/{first['id']}", propertiesWithHistory="name")
    assert single.status_code == 200, single.text
    assert single.json()["propertiesWithHistory"] == items[0]["propertiesWithHistory"]
    # Without the parameter there is no history at all (the common case costs nothing).
    plain = api.get(f"{OBJECTS}/companies", limit=100)
    assert all("propertiesWithHistory" not in i for i in plain.json()["results"])
    # A property that never held a value has an empty history.
    bare = emulator.create("companies", {"name": "No city"})
    empty = _batch(api, "companies", [bare["id"]], ["city"])["results"][0]
    assert empty["propertiesWithHistory"] == {"city": []}


@pytest.mark.parametrize("path", ["/crm/v3/objects/companies", f"{OBJECTS}/companies"])
def test_more_than_50_records_with_history_are_refused(
    emulator: HubSpotEmulator, api: Api, path: str
) -> None:
    emulator.seed(companies=60, contacts=0, seed=4)
    listed = api.get(path, limit=100, propertiesWithHistory="name")
    assert listed.status_code == 400
    assert "at most 50" in listed.json()["message"]
    ids = [c["id"] for c in emulator.dump("companies")]
    inputs = [{"id": i} for i in ids[:51]]
    body = {"inputs": inputs, "properties": [], "propertiesWithHistory": ["name"]}
    batch = api.post(f"{path}/batch/read", body)
    assert batch.status_code == 400
    assert "maximum of 50" in batch.json()["message"]
    assert api.get(path, limit=50, propertiesWithHistory="name").status_code == 200
    assert len(_batch(api, "companies", ids[:50], ["name"])["results"]) == 50


def test_a_contacts_primary_company_history_follows_its_relinks(
    emulator: HubSpotEmulator, api: Api
) -> None:
    first = emulator.create("companies", {"name": "One"})
    second = emulator.create("companies", {"name": "Two"})
    contact = emulator.create("contacts", {"email": "a@example.com"}, company_ids=[first["id"]])
    emulator.update("contacts", contact["id"], company_ids=[second["id"]])
    item = _batch(api, "contacts", [contact["id"]], ["associatedcompanyid"])["results"][0]
    assert _history(item, "associatedcompanyid") == [
        (second["id"], "CALCULATED"),
        (first["id"], "CALCULATED"),
    ]


def test_time_travel_moves_the_history_with_every_other_moment(
    emulator: HubSpotEmulator, api: Api
) -> None:
    company = emulator.create("companies", {"name": "Acme"})
    emulator.update("companies", company["id"], {"name": "Acme Inc"})
    before = _batch(api, "companies", [company["id"]], ["name"])["results"][0]
    emulator.time_travel(days=2)
    after = _batch(api, "companies", [company["id"]], ["name"])["results"][0]
    day_ms = 86_400_000
    shifted = [
        parse_ms(a["timestamp"]) + 2 * day_ms  # type: ignore[operator]
        for a in after["propertiesWithHistory"]["name"]
    ]
    assert shifted == [parse_ms(b["timestamp"]) for b in before["propertiesWithHistory"]["name"]]
    newest = after["propertiesWithHistory"]["name"][0]
    assert parse_ms(after["updatedAt"]) == parse_ms(newest["timestamp"])  # the same moment


def test_a_new_id_merge_starts_the_history_of_its_values_at_the_merge(
    emulator: HubSpotEmulator, api: Api
) -> None:
    one = emulator.create("companies", {"name": "One", "city": "Lyon"})
    two = emulator.create("companies", {"name": "Two"})
    merged = emulator.merge("companies", one["id"], two["id"], new_id=True)
    item = _batch(api, "companies", [merged["id"]], ["name", "city"])["results"][0]
    assert _history(item, "name") == [("One", "CRM_UI")]
    assert _history(item, "city") == [("Lyon", "CRM_UI")]
    stamp = parse_ms(item["propertiesWithHistory"]["name"][0]["timestamp"])
    assert stamp is not None
    assert stamp > parse_ms(one["properties"]["createdate"])  # type: ignore[operator]
