"""Admin-driven changes as HubSpot shows them: updates bump modified dates, legacy merges make
the absorbed record vanish, archives move records, `associatedcompanyid` follows the primary.
(The current merge behaviour, permanent deletes and retention: test_identity_changes.py.)"""

from __future__ import annotations

import pytest

from emulators.hubspot.pytest_plugin import AdminCallError, HubSpotEmulator
from tests.emulators.hubspot.conftest import Api


def _props(api: Api, object_type: str, record_id: str, names: str) -> dict:
    response = api.get(f"/crm/v3/objects/{object_type}/{record_id}", properties=names)
    assert response.status_code == 200, response.text
    return response.json()["properties"]


def test_update_changes_values_and_bumps_the_modified_date(
    emulator: HubSpotEmulator, api: Api
) -> None:
    company = emulator.create("companies", {"name": "Old"})
    updated = emulator.update("companies", company["id"], {"name": "New", "city": None})
    props = _props(api, "companies", company["id"], "name,hs_lastmodifieddate")
    assert props["name"] == "New"
    assert props["hs_lastmodifieddate"] == updated["updatedAt"]
    assert updated["updatedAt"] > company["updatedAt"]


def test_admin_refuses_unknown_computed_and_duplicate_unique_values(
    emulator: HubSpotEmulator,
) -> None:
    emulator.create("contacts", {"gather_user_id": "U-1"})
    with pytest.raises(AdminCallError, match="does not exist"):
        emulator.create("contacts", {"nope": "x"})
    with pytest.raises(AdminCallError, match="computed"):
        emulator.create("contacts", {"hs_object_id": "5"})
    with pytest.raises(AdminCallError, match="already belongs") as info:
        emulator.create("contacts", {"gather_user_id": "U-1"})
    assert info.value.status == 409
    with pytest.raises(AdminCallError, match="no active"):
        emulator.update("contacts", "999", {"city": "x"})


def test_ids_are_numeric_strings_ascending_by_creation(emulator: HubSpotEmulator) -> None:
    ids = [int(emulator.create("contacts", {"firstname": str(i)})["id"]) for i in range(12)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 12


def test_legacy_contact_merge_absorbs_the_record_and_lists_it_on_the_survivor(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.set_config(merge_new_id=False)
    c1 = emulator.create("companies", {"name": "c1"})["id"]
    c2 = emulator.create("companies", {"name": "c2"})["id"]
    a = emulator.create("contacts", {"email": "a@example.com"}, company_ids=[c1])["id"]
    b = emulator.create("contacts", {"email": "b@example.com"}, company_ids=[c2])["id"]
    emulator.merge("contacts", a, b)
    assert api.get(f"/crm/v3/objects/contacts/{b}").status_code == 404
    assert api.get("/crm/v3/objects/contacts", archived="true").json()["results"] == []
    props = _props(
        api, "contacts", a, "hs_merged_object_ids,hs_additional_emails,associatedcompanyid"
    )
    assert props["hs_merged_object_ids"] == b
    assert props["hs_additional_emails"] == "b@example.com"
    assert props["associatedcompanyid"] == c1
    dump = {r["id"]: r for r in emulator.dump("contacts", archived="any")}
    assert set(dump) == {a}
    assert dump[a]["company_ids"] == [c1, c2]


def test_legacy_company_merge_moves_contacts_and_keeps_associatedcompanyid_in_sync(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.set_config(merge_new_id=False)
    keep = emulator.create("companies", {"name": "keep"})["id"]
    gone = emulator.create("companies", {"name": "gone"})["id"]
    contact = emulator.create("contacts", {"email": "x@example.com"}, primary_company_id=gone)
    emulator.merge("companies", keep, gone)
    props = _props(api, "contacts", contact["id"], "associatedcompanyid,lastmodifieddate")
    assert props["associatedcompanyid"] == keep
    assert props["lastmodifieddate"] > contact["updatedAt"]
    assert _props(api, "companies", keep, "hs_merged_object_ids")["hs_merged_object_ids"] == gone


def test_archiving_a_primary_company_clears_associatedcompanyid(
    emulator: HubSpotEmulator, api: Api
) -> None:
    c1 = emulator.create("companies", {"name": "c1"})["id"]
    c2 = emulator.create("companies", {"name": "c2"})["id"]
    contact = emulator.create(
        "contacts", {"firstname": "x"}, company_ids=[c1, c2], primary_company_id=c1
    )
    emulator.archive("companies", c1)
    props = _props(api, "contacts", contact["id"], "associatedcompanyid")
    assert props["associatedcompanyid"] is None
    assert emulator.dump("contacts")[0]["company_ids"] == [c2]
    c3 = emulator.create("companies", {"name": "c3"})["id"]
    emulator.update("contacts", contact["id"], company_ids=[c2, c3])
    emulator.update("contacts", contact["id"], primary_company_id=c3)
    assert (
        _props(api, "contacts", contact["id"], "associatedcompanyid")["associatedcompanyid"] == c3
    )
    assert emulator.dump("contacts")[0]["company_ids"] == [c2, c3]


def test_merge_and_archive_errors_name_the_problem(emulator: HubSpotEmulator) -> None:
    a = emulator.create("contacts", {"firstname": "a"})["id"]
    with pytest.raises(AdminCallError, match="same record"):
        emulator.merge("contacts", a, a)
    emulator.archive("contacts", a)
    with pytest.raises(AdminCallError, match="no active"):
        emulator.archive("contacts", a)
    with pytest.raises(AdminCallError, match="unknown object type"):
        emulator.dump("tickets")


def test_touch_by_ids_and_all(emulator: HubSpotEmulator) -> None:
    ids = [emulator.create("companies", {"name": str(i)})["id"] for i in range(3)]
    assert emulator.touch("companies", ids=ids[:2], timestamp=1_750_000_000_000) == 2
    stamps = [r["updatedAt"] for r in emulator.dump("companies")]
    assert stamps[0] == stamps[1] == "2025-06-15T15:06:40.000Z"
    assert stamps[2] != stamps[0]
    assert emulator.touch("companies") == 3
    assert len({r["updatedAt"] for r in emulator.dump("companies")}) == 1


def test_reset_empties_the_portal_and_stats(emulator: HubSpotEmulator, api: Api) -> None:
    emulator.seed(companies=2, contacts=3)
    api.get("/crm/v3/objects/contacts")
    emulator.reset()
    assert emulator.dump("contacts") == []
    assert emulator.stats()["total"] == 0
