"""What HubSpot's API shows when identities change: merges that mint a new record (both old ids
resolve to it), permanent (GDPR) deletes, archive retention and association changes that do
not touch the contact. All seen through HubSpot's own endpoints, not the admin dump."""

from __future__ import annotations

import time
from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import AdminCallError, HubSpotEmulator
from tests.emulators.hubspot.conftest import Api

CONTACT_PROPS = (
    "email,firstname,lastname,city,gather_user_id,hs_merged_object_ids,"
    "hs_additional_emails,associatedcompanyid,lastmodifieddate"
)


def _get(api: Api, object_type: str, record_id: str, **params: Any) -> dict[str, Any]:
    response = api.get(f"/crm/v3/objects/{object_type}/{record_id}", **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _list_ids(api: Api, object_type: str, *, archived: bool = False) -> list[str]:
    ids: list[str] = []
    params: dict[str, Any] = {"limit": 100, "archived": str(archived).lower()}
    while True:
        data = api.get(f"/crm/v3/objects/{object_type}", **params).json()
        ids += [r["id"] for r in data["results"]]
        after = data.get("paging", {}).get("next", {}).get("after")
        if not after:
            return ids
        params["after"] = after


def _batch_read(api: Api, object_type: str, ids: list[str], **query: str) -> Any:
    url = f"/crm/v3/objects/{object_type}/batch/read"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return api.post(url, {"inputs": [{"id": i} for i in ids], "properties": ["email"]})


def _two_contacts(emulator: HubSpotEmulator) -> tuple[str, str, str, str]:
    c1 = emulator.create("companies", {"name": "c1"})["id"]
    c2 = emulator.create("companies", {"name": "c2"})["id"]
    primary = emulator.create(
        "contacts",
        {"email": "p@example.com", "firstname": "Pat", "city": None, "gather_user_id": "U-P"},
        company_ids=[c1],
    )["id"]
    secondary = emulator.create(
        "contacts",
        {
            "email": "s@example.com",
            "firstname": "Sam",
            "lastname": "Second",
            "city": "Oslo",
            "gather_user_id": "U-S",
        },
        company_ids=[c2],
    )["id"]
    return c1, c2, primary, secondary


def test_contact_merge_mints_a_new_record_with_the_primarys_values_merged_over(
    emulator: HubSpotEmulator, api: Api
) -> None:
    c1, c2, primary, secondary = _two_contacts(emulator)
    created = {r["id"]: r["createdAt"] for r in emulator.dump("contacts")}
    merged = emulator.merge("contacts", primary, secondary)
    new = merged["id"]
    assert int(new) > max(int(primary), int(secondary))
    record = _get(api, "contacts", new, properties=CONTACT_PROPS)
    props = record["properties"]
    assert props["email"] == "p@example.com"  # the primary's value wins
    assert props["firstname"] == "Pat"
    assert props["lastname"] == "Second"  # only the secondary had one
    assert props["city"] == "Oslo"
    assert props["gather_user_id"] == "U-P"
    assert props["hs_additional_emails"] == "s@example.com"
    assert sorted(props["hs_merged_object_ids"].split(";")) == sorted([primary, secondary])
    assert props["associatedcompanyid"] == c1  # the primary's associations take priority
    assert record["createdAt"] == min(created.values())
    dump = emulator.dump("contacts", archived="any")
    assert [r["id"] for r in dump] == [new]
    assert dump[0]["company_ids"] == [c1, c2]
    # The secondary's unique value was not kept, so it is free again.
    emulator.create("contacts", {"gather_user_id": "U-S"})


def test_both_old_ids_resolve_to_the_merged_record_on_reads_by_id(
    emulator: HubSpotEmulator, api: Api
) -> None:
    c1, _c2, primary, secondary = _two_contacts(emulator)
    other = emulator.create("contacts", {"email": "o@example.com"})["id"]
    new = emulator.merge("contacts", primary, secondary)["id"]
    for old in (primary, secondary):
        assert _get(api, "contacts", old)["id"] == new
        assert api.get(f"/crm/v3/objects/contacts/{old}", archived="true").status_code == 404
    # Batch read: old ids answer the merged record, once; unknown ids are reported missing.
    response = _batch_read(api, "contacts", [primary, secondary, new, other, "999999"])
    assert response.status_code == 207
    body = response.json()
    assert sorted(r["id"] for r in body["results"]) == sorted([new, other])
    assert body["errors"][0]["context"]["ids"] == ["999999"]
    archived = _batch_read(api, "contacts", [primary], archived="true").json()
    assert archived["results"] == []
    # v4 association batch read by an old id answers for the merged record.
    v4 = api.post(
        "/crm/v4/associations/contacts/companies/batch/read", {"inputs": [{"id": secondary}]}
    ).json()
    assert v4["results"][0]["from"]["id"] == new
    assert {t["toObjectId"] for t in v4["results"][0]["to"]} >= {int(c1)}


def test_old_ids_are_neither_listed_nor_searchable(emulator: HubSpotEmulator, api: Api) -> None:
    _c1, _c2, primary, secondary = _two_contacts(emulator)
    new = emulator.merge("contacts", primary, secondary)["id"]
    assert _list_ids(api, "contacts") == [new]
    assert _list_ids(api, "contacts", archived=True) == []
    assert api.search_all_ids("contacts", {}) == [new]
    for old in (primary, secondary):
        by_id = {"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": old}]}
        assert api.search_all_ids("contacts", {"filterGroups": [by_id]}) == []
        token = {
            "filters": [
                {"propertyName": "hs_merged_object_ids", "operator": "CONTAINS_TOKEN", "value": old}
            ]
        }
        assert api.search_all_ids("contacts", {"filterGroups": [token]}) == [new]


def test_merging_a_merged_record_again_moves_every_old_id(
    emulator: HubSpotEmulator, api: Api
) -> None:
    a, b, c = (emulator.create("contacts", {"firstname": n})["id"] for n in "abc")
    first = emulator.merge("contacts", a, b)["id"]
    second = emulator.merge("contacts", c, first)["id"]
    props = _get(api, "contacts", second, properties="hs_merged_object_ids")["properties"]
    assert sorted(props["hs_merged_object_ids"].split(";"), key=int) == [a, b, c, first]
    for old in (a, b, c, first):
        assert _get(api, "contacts", old)["id"] == second


@pytest.mark.parametrize("touch", [True, False], ids=["contacts-touched", "contacts-untouched"])
def test_company_merge_repoints_contacts_to_the_new_company(
    emulator: HubSpotEmulator, api: Api, touch: bool
) -> None:
    emulator.set_config(association_changes_touch_contacts=touch)
    keep = emulator.create("companies", {"name": "keep", "gather_account_id": "A-K"})["id"]
    gone = emulator.create("companies", {"name": "gone", "gather_account_id": "A-G"})["id"]
    x = emulator.create("contacts", {"email": "x@example.com"}, primary_company_id=keep)
    y = emulator.create("contacts", {"email": "y@example.com"}, primary_company_id=gone)
    new = emulator.merge("companies", keep, gone)["id"]
    company = _get(api, "companies", new, properties="gather_account_id,hs_merged_object_ids")
    assert company["properties"]["gather_account_id"] == "A-K"
    assert sorted(company["properties"]["hs_merged_object_ids"].split(";")) == [keep, gone]
    assert _get(api, "companies", gone)["id"] == new
    for before in (x, y):
        props = _get(api, "contacts", before["id"], properties=CONTACT_PROPS)["properties"]
        assert props["associatedcompanyid"] == new
        assert (props["lastmodifieddate"] > before["updatedAt"]) is touch
    contacts = _get(api, "companies", new, associations="contacts")["associations"]["contacts"]
    assert {r["id"] for r in contacts["results"]} == {x["id"], y["id"]}


def test_legacy_merge_stays_selectable_by_config_and_per_call(
    emulator: HubSpotEmulator, api: Api
) -> None:
    a, b, c = (emulator.create("contacts", {"firstname": n})["id"] for n in "abc")
    assert emulator.merge("contacts", a, b, new_id=False)["id"] == a
    assert api.get(f"/crm/v3/objects/contacts/{b}").status_code == 404
    emulator.set_config(merge_new_id=False)
    assert emulator.merge("contacts", a, c)["id"] == a
    props = _get(api, "contacts", a, properties="hs_merged_object_ids")["properties"]
    assert props["hs_merged_object_ids"] == f"{b};{c}"
    with pytest.raises(AdminCallError, match="new_id must be"):
        emulator.call(
            "POST", "/objects/contacts/merge", {"primary_id": a, "merged_id": a, "new_id": 1}
        )
    with pytest.raises(AdminCallError, match="merge_new_id must be true or false"):
        emulator.set_config(merge_new_id="yes")


def test_public_merge_endpoint(emulator: HubSpotEmulator, api: Api) -> None:
    a, b = (emulator.create("companies", {"name": n})["id"] for n in "ab")
    response = api.post(
        "/crm/v3/objects/companies/merge", {"primaryObjectId": a, "objectIdToMerge": b}
    )
    assert response.status_code == 200, response.text
    new = response.json()["id"]
    assert new not in (a, b)
    assert response.json()["properties"]["name"] == "a"
    missing = api.post(
        "/crm/v3/objects/companies/merge", {"primaryObjectId": new, "objectIdToMerge": a}
    )
    assert missing.status_code == 404  # an absorbed id is no longer mergeable
    same = api.post(
        "/crm/v3/objects/companies/merge", {"primaryObjectId": new, "objectIdToMerge": new}
    )
    assert same.status_code == 400
    assert api.post("/crm/v3/objects/companies/merge", {}).status_code == 400


def _gone_everywhere(api: Api, contact_id: str, company_id: str) -> None:
    for archived in ("false", "true"):
        response = api.get(f"/crm/v3/objects/contacts/{contact_id}", archived=archived)
        assert response.status_code == 404
        assert contact_id not in _list_ids(api, "contacts", archived=archived == "true")
    assert contact_id not in api.search_all_ids("contacts", {})
    assert _batch_read(api, "contacts", [contact_id]).status_code == 207
    company = _get(api, "companies", company_id, associations="contacts")
    linked = company.get("associations", {}).get("contacts", {}).get("results", [])
    assert contact_id not in {r["id"] for r in linked}


def test_gdpr_delete_by_id_leaves_nothing_in_any_endpoint(
    emulator: HubSpotEmulator, api: Api
) -> None:
    company = emulator.create("companies", {"name": "c"})["id"]
    live = emulator.create("contacts", {"email": "live@example.com"}, primary_company_id=company)
    archived = emulator.create("contacts", {"email": "old@example.com"}, primary_company_id=company)
    emulator.archive("contacts", archived["id"])
    for contact in (live, archived):
        response = api.post("/crm/v3/objects/contacts/gdpr-delete", {"objectId": contact["id"]})
        assert response.status_code == 204, response.text
        _gone_everywhere(api, contact["id"], company)
    assert emulator.dump("contacts", archived="any") == []
    again = api.post("/crm/v3/objects/contacts/gdpr-delete", {"objectId": live["id"]})
    assert again.status_code == 404


def test_gdpr_delete_by_email_and_the_blocklist(emulator: HubSpotEmulator, api: Api) -> None:
    company = emulator.create("companies", {"name": "c"})["id"]
    contact = emulator.create("contacts", {"email": "Who@Example.com"}, primary_company_id=company)
    body = {"objectId": "who@example.com", "idProperty": "email"}
    assert api.post("/crm/v3/objects/contacts/gdpr-delete", body).status_code == 204
    _gone_everywhere(api, contact["id"], company)
    # An email no contact has is blocked from future use, as the spec says.
    body = {"objectId": "never@example.com", "idProperty": "email"}
    assert api.post("/crm/v3/objects/contacts/gdpr-delete", body).status_code == 204
    with pytest.raises(AdminCallError, match="blocked") as info:
        emulator.create("contacts", {"email": "Never@example.com"})
    assert info.value.status == 409
    bad = api.post("/crm/v3/objects/contacts/gdpr-delete", {"idProperty": "email"})
    assert bad.status_code == 400
    not_unique = {"objectId": "x", "idProperty": "city"}
    assert api.post("/crm/v3/objects/contacts/gdpr-delete", not_unique).status_code == 400


def test_gdpr_delete_of_a_merged_record_by_an_old_id_removes_it_and_its_aliases(
    emulator: HubSpotEmulator, api: Api
) -> None:
    _c1, _c2, primary, secondary = _two_contacts(emulator)
    new = emulator.merge("contacts", primary, secondary)["id"]
    response = api.post("/crm/v3/objects/contacts/gdpr-delete", {"objectId": primary})
    assert response.status_code == 204
    for old in (primary, secondary, new):
        assert api.get(f"/crm/v3/objects/contacts/{old}").status_code == 404
    assert _batch_read(api, "contacts", [primary, secondary, new]).json()["results"] == []


@pytest.mark.parametrize("touch", [True, False], ids=["contacts-touched", "contacts-untouched"])
def test_admin_purge_of_a_company_unlinks_its_contacts(
    emulator: HubSpotEmulator, api: Api, touch: bool
) -> None:
    emulator.set_config(association_changes_touch_contacts=touch)
    company = emulator.create("companies", {"name": "c"})["id"]
    contact = emulator.create("contacts", {"email": "x@example.com"}, primary_company_id=company)
    emulator.purge("companies", company)
    for archived in ("false", "true"):
        url = f"/crm/v3/objects/companies/{company}"
        assert api.get(url, archived=archived).status_code == 404
    assert _list_ids(api, "companies", archived=True) == []
    props = _get(api, "contacts", contact["id"], properties=CONTACT_PROPS)["properties"]
    assert props["associatedcompanyid"] is None
    assert (props["lastmodifieddate"] > contact["updatedAt"]) is touch
    with pytest.raises(AdminCallError, match="active or archived") as info:
        emulator.purge("companies", company)
    assert info.value.status == 404


def test_archives_older_than_the_retention_are_purged(emulator: HubSpotEmulator, api: Api) -> None:
    old, recent, live = (emulator.create("contacts", {"firstname": n})["id"] for n in "orl")
    emulator.archive("contacts", old)
    before = _get(api, "contacts", live)["updatedAt"]
    assert emulator.time_travel(days=89) == 0
    emulator.archive("contacts", recent)
    assert _list_ids(api, "contacts", archived=True) == [old, recent]
    assert emulator.time_travel(days=2) == 1  # `old` is now 91 days archived
    assert _list_ids(api, "contacts", archived=True) == [recent]
    assert api.get(f"/crm/v3/objects/contacts/{old}", archived="true").status_code == 404
    # Time travel ages every stored moment, the modified dates included.
    after = _get(api, "contacts", live)["updatedAt"]
    assert after < before
    assert after[:10] < before[:10]


def test_retention_is_checked_on_every_request(emulator: HubSpotEmulator, api: Api) -> None:
    record = emulator.create("companies", {"name": "x"})["id"]
    emulator.archive("companies", record)
    emulator.set_config(archive_retention_days=0.000_01)  # under a second
    time.sleep(1.0)
    assert _list_ids(api, "companies", archived=True) == []
    assert emulator.dump("companies", archived="any") == []
    with pytest.raises(AdminCallError, match="archive_retention_days must be"):
        emulator.set_config(archive_retention_days=-1)
    with pytest.raises(AdminCallError, match="forward"):
        emulator.time_travel(days=-1)


def test_repointing_a_contact_without_touching_it(emulator: HubSpotEmulator, api: Api) -> None:
    emulator.set_config(association_changes_touch_contacts=False)
    a = emulator.create("companies", {"name": "a"})["id"]
    b = emulator.create("companies", {"name": "b"})["id"]
    contact = emulator.create("contacts", {"email": "x@example.com"}, primary_company_id=a)
    emulator.update("contacts", contact["id"], primary_company_id=b)
    props = _get(api, "contacts", contact["id"], properties=CONTACT_PROPS)["properties"]
    assert props["associatedcompanyid"] == b
    assert props["lastmodifieddate"] == contact["updatedAt"]
    by_company = {
        "filters": [{"propertyName": "associatedcompanyid", "operator": "EQ", "value": b}]
    }
    assert api.search_all_ids("contacts", {"filterGroups": [by_company]}) == [contact["id"]]
    since = {
        "filters": [
            {"propertyName": "lastmodifieddate", "operator": "GT", "value": contact["updatedAt"]}
        ]
    }
    assert api.search_all_ids("contacts", {"filterGroups": [since]}) == []


def test_company_property_changes_never_touch_its_contacts(
    emulator: HubSpotEmulator, api: Api
) -> None:
    company = emulator.create("companies", {"name": "c", "gather_account_id": "A-1"})["id"]
    contact = emulator.create("contacts", {"email": "x@example.com"}, primary_company_id=company)
    for value in ("A-2", None):
        emulator.update("companies", company, {"gather_account_id": value})
    props = _get(api, "contacts", contact["id"], properties=CONTACT_PROPS)["properties"]
    assert props["lastmodifieddate"] == contact["updatedAt"]


def test_a_repointed_contact_is_invisible_to_search_during_the_index_lag(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.set_config(association_changes_touch_contacts=False)
    a = emulator.create("companies", {"name": "a"})["id"]
    b = emulator.create("companies", {"name": "b"})["id"]
    contact = emulator.create("contacts", {"email": "x@example.com"}, primary_company_id=a)["id"]
    emulator.set_config(search_index_lag_s=0.5)
    emulator.update("contacts", contact, primary_company_id=b)
    by_company = {
        "filters": [{"propertyName": "associatedcompanyid", "operator": "EQ", "value": b}]
    }
    assert api.search_all_ids("contacts", {"filterGroups": [by_company]}) == []
    time.sleep(0.6)
    assert api.search_all_ids("contacts", {"filterGroups": [by_company]}) == [contact]
