"""The properties API and the v4 associations batch read."""

from __future__ import annotations

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.emulators.hubspot.conftest import Api

BATCH = "/crm/v4/associations/{}/{}/batch/read"


def test_properties_api_lists_full_definitions_including_custom_ones(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.seed(companies=1, contacts=1, custom_properties=3)
    results = api.get("/crm/v3/properties/contacts").json()["results"]
    by_name = {p["name"]: p for p in results}
    assert by_name["gather_user_id"]["hasUniqueValue"] is True
    assert by_name["legacy_user_ref"]["hasUniqueValue"] is False
    assert by_name["lastmodifieddate"]["type"] == "datetime"
    assert by_name["gather_signup_date"]["type"] == "date"
    assert by_name["associatedcompanyid"]["modificationMetadata"]["readOnlyValue"] is True
    assert "custom_property_0002" in by_name
    for prop in results:
        assert {"name", "label", "type", "fieldType", "groupName", "options", "calculated"} <= set(
            prop
        )
    companies = {p["name"] for p in api.get("/crm/v3/properties/companies").json()["results"]}
    assert {"hs_lastmodifieddate", "gather_account_id", "name", "domain"} <= companies
    one = api.get("/crm/v3/properties/companies/gather_account_id").json()
    assert one["hasUniqueValue"] is True


def test_v4_batch_read_contacts_to_companies_with_type_ids(
    emulator: HubSpotEmulator, api: Api
) -> None:
    c1 = emulator.create("companies", {"name": "c1"})["id"]
    c2 = emulator.create("companies", {"name": "c2"})["id"]
    a = emulator.create(
        "contacts", {"firstname": "a"}, company_ids=[c1, c2], primary_company_id=c2
    )["id"]
    lonely = emulator.create("contacts", {"firstname": "b"})["id"]
    response = api.post(
        BATCH.format("contacts", "companies"), {"inputs": [{"id": a}, {"id": lonely}]}
    )
    assert response.status_code == 207
    data = response.json()
    (result,) = data["results"]
    assert result["from"] == {"id": a}
    to = {str(t["toObjectId"]): {x["typeId"] for x in t["associationTypes"]} for t in result["to"]}
    assert to == {c1: {279}, c2: {1, 279}}
    assert isinstance(result["to"][0]["toObjectId"], int)
    assert data["errors"][0]["context"]["fromObjectId"] == [lonely]


def test_v4_batch_read_companies_to_contacts(emulator: HubSpotEmulator, api: Api) -> None:
    c1 = emulator.create("companies", {"name": "c1"})["id"]
    a = emulator.create("contacts", {"firstname": "a"}, primary_company_id=c1)["id"]
    response = api.post(BATCH.format("companies", "contacts"), {"inputs": [{"id": c1}]})
    assert response.status_code == 200
    to = response.json()["results"][0]["to"]
    assert to == [
        {
            "toObjectId": int(a),
            "associationTypes": [
                {"category": "HUBSPOT_DEFINED", "typeId": 2, "label": "Primary"},
                {"category": "HUBSPOT_DEFINED", "typeId": 280, "label": None},
            ],
        }
    ]


def test_v4_batch_read_limits(emulator: HubSpotEmulator, api: Api) -> None:
    too_many = {"inputs": [{"id": str(i)} for i in range(1001)]}
    response = api.post(BATCH.format("contacts", "companies"), too_many)
    assert response.status_code == 400
    assert api.post(BATCH.format("contacts", "deals"), {"inputs": []}).status_code == 400


def test_v4_batch_read_pages_after_500_associations_per_input(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.seed(companies=1, contacts=700, seed=2)
    (company,) = emulator.dump("companies")
    expected = [int(i) for i in company["contact_ids"]]
    assert len(expected) > 500
    url = BATCH.format("companies", "contacts")
    first = api.post(url, {"inputs": [{"id": company["id"]}]}).json()["results"][0]
    after = first["paging"]["next"]["after"]
    second = api.post(url, {"inputs": [{"id": company["id"], "after": after}]}).json()["results"][0]
    assert "paging" not in second
    got = [t["toObjectId"] for t in first["to"] + second["to"]]
    assert got == expected
