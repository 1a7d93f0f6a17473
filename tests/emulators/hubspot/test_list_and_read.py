"""The list endpoint, single reads and batch reads behave like HubSpot's."""

from __future__ import annotations

import pytest

from emulators.hubspot.pytest_plugin import AdminCallError, HubSpotEmulator
from emulators.hubspot.timeutil import parse_ms
from tests.emulators.hubspot.conftest import Api


def _list_all(api: Api, object_type: str, **params: object) -> list[dict]:
    results: list[dict] = []
    after = None
    while True:
        query = dict(params)
        if after is not None:
            query["after"] = after
        response = api.get(f"/crm/v3/objects/{object_type}", **query)
        assert response.status_code == 200, response.text
        data = response.json()
        results += data["results"]
        if "paging" not in data:
            return results
        assert data["paging"]["next"]["link"].startswith(api.emulator.url)
        after = data["paging"]["next"]["after"]


def test_list_pages_cover_every_record_in_ascending_id_order(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.seed(companies=5, contacts=57, seed=7)
    expected = [r["id"] for r in emulator.dump("contacts")]
    got = [r["id"] for r in _list_all(api, "contacts", limit=10)]
    assert got == expected
    assert [int(i) for i in got] == sorted(int(i) for i in got)
    assert len(got) == 57


def test_after_is_the_next_records_id_and_last_page_has_no_paging(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.seed(companies=0, contacts=5, id_gap_max=1)
    ids = [r["id"] for r in emulator.dump("contacts")]
    first = api.get("/crm/v3/objects/contacts", limit=2).json()
    assert first["paging"]["next"]["after"] == ids[2]
    last = api.get("/crm/v3/objects/contacts", limit=2, after=ids[4]).json()
    assert [r["id"] for r in last["results"]] == [ids[4]]
    assert "paging" not in last


def test_default_limit_is_10_and_limit_above_100_is_clamped(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.seed(companies=0, contacts=150)
    assert len(api.get("/crm/v3/objects/contacts").json()["results"]) == 10
    assert len(api.get("/crm/v3/objects/contacts", limit=500).json()["results"]) == 100
    emulator.set_config(list_limit_over_max="error")
    response = api.get("/crm/v3/objects/contacts", limit=500)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_properties_unknown_ignored_requested_empty_null_and_always_returned(
    emulator: HubSpotEmulator, api: Api
) -> None:
    created = emulator.create("contacts", {"email": "a@example.com"})
    data = api.get("/crm/v3/objects/contacts", properties="email,firstname,no_such_prop").json()
    props = data["results"][0]["properties"]
    assert props["email"] == "a@example.com"
    assert props["firstname"] is None
    assert "no_such_prop" not in props
    assert props["hs_object_id"] == created["id"]
    assert set(props) == {"email", "firstname", "createdate", "lastmodifieddate", "hs_object_id"}
    record = data["results"][0]
    assert record["updatedAt"] == props["lastmodifieddate"]
    assert record["createdAt"] == props["createdate"]


def test_default_properties_and_repeated_properties_params(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.create("companies", {"name": "Acme", "domain": "acme.example", "city": "Berlin"})
    default = api.get("/crm/v3/objects/companies").json()["results"][0]["properties"]
    assert set(default) == {"name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"}
    response = api.session.get(
        api.emulator.url + "/crm/v3/objects/companies?properties=city&properties=name", timeout=10
    )
    props = response.json()["results"][0]["properties"]
    assert props["city"] == "Berlin"
    assert props["name"] == "Acme"


def test_inline_associations_list_primary_and_unlabeled_entries(
    emulator: HubSpotEmulator, api: Api
) -> None:
    a = emulator.create("companies", {"name": "A"})["id"]
    b = emulator.create("companies", {"name": "B"})["id"]
    emulator.create(
        "contacts", {"email": "x@example.com"}, company_ids=[a, b], primary_company_id=b
    )
    emulator.create("contacts", {"email": "y@example.com"})
    results = api.get("/crm/v3/objects/contacts", associations="companies").json()["results"]
    assert results[0]["associations"]["companies"]["results"] == [
        {"id": a, "type": "contact_to_company_unlabeled"},
        {"id": b, "type": "contact_to_company"},
        {"id": b, "type": "contact_to_company_unlabeled"},
    ]
    assert "associations" not in results[1]
    companies = api.get("/crm/v3/objects/companies", associations="contacts").json()["results"]
    assert companies[1]["associations"]["contacts"]["results"][0]["type"] == "company_to_contact"


def test_archived_true_lists_only_archived_records(emulator: HubSpotEmulator, api: Api) -> None:
    ids = [emulator.create("contacts", {"firstname": f"n{i}"})["id"] for i in range(3)]
    emulator.archive("contacts", ids[1])
    active = api.get("/crm/v3/objects/contacts").json()["results"]
    archived = api.get("/crm/v3/objects/contacts", archived="true").json()["results"]
    assert [r["id"] for r in active] == [ids[0], ids[2]]
    assert [r["id"] for r in archived] == [ids[1]]
    assert archived[0]["archived"] is True
    assert "archivedAt" in archived[0]


def test_get_one_record_by_id_and_by_unique_property(emulator: HubSpotEmulator, api: Api) -> None:
    record = emulator.create("contacts", {"email": "Mixed@Example.com", "gather_user_id": "U-9"})
    by_id = api.get(f"/crm/v3/objects/contacts/{record['id']}", properties="gather_user_id")
    assert by_id.status_code == 200
    assert by_id.json()["properties"]["gather_user_id"] == "U-9"
    by_unique = api.get("/crm/v3/objects/contacts/U-9", idProperty="gather_user_id")
    assert by_unique.json()["id"] == record["id"]
    missing = api.get("/crm/v3/objects/contacts/999999")
    assert missing.status_code == 404
    assert missing.json()["category"] == "OBJECT_NOT_FOUND"


def test_batch_read_returns_found_records_and_207_errors_for_missing(
    emulator: HubSpotEmulator, api: Api
) -> None:
    ids = [emulator.create("companies", {"name": f"c{i}"})["id"] for i in range(3)]
    body = {"inputs": [{"id": ids[0]}, {"id": "424242"}, {"id": ids[2]}], "properties": ["name"]}
    response = api.post("/crm/v3/objects/companies/batch/read", body)
    assert response.status_code == 207
    data = response.json()
    assert sorted(r["id"] for r in data["results"]) == sorted([ids[0], ids[2]])
    assert "associations" not in data["results"][0]
    assert data["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert data["errors"][0]["context"]["ids"] == ["424242"]
    ok = api.post(
        "/crm/v3/objects/companies/batch/read", {"inputs": [{"id": ids[1]}], "properties": []}
    )
    assert ok.status_code == 200
    assert ok.json()["status"] == "COMPLETE"


def test_batch_read_by_id_property_and_its_limits(emulator: HubSpotEmulator, api: Api) -> None:
    record = emulator.create("contacts", {"email": "Ann@Example.com"})
    body = {"idProperty": "email", "inputs": [{"id": "ann@example.com"}], "properties": ["email"]}
    data = api.post("/crm/v3/objects/contacts/batch/read", body).json()
    assert data["results"][0]["id"] == record["id"]
    too_many = {"inputs": [{"id": str(i)} for i in range(101)], "properties": []}
    response = api.post("/crm/v3/objects/contacts/batch/read", too_many)
    assert response.status_code == 400
    not_unique = {"idProperty": "city", "inputs": [{"id": "x"}], "properties": []}
    assert api.post("/crm/v3/objects/contacts/batch/read", not_unique).status_code == 400


def test_a_configured_share_of_date_values_comes_back_as_epoch_ms(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.seed(companies=0, contacts=200, epoch_ms_date_share=0.5)
    canonical = {r["id"]: r["properties"]["gather_signup_date"] for r in emulator.dump("contacts")}
    results = api.get("/crm/v3/objects/contacts", limit=100, properties="gather_signup_date").json()
    values = {r["id"]: r["properties"]["gather_signup_date"] for r in results["results"]}
    epoch = {i: v for i, v in values.items() if v.isdigit()}
    assert 20 < len(epoch) < 80
    for record_id, value in epoch.items():
        assert parse_ms(value) == parse_ms(canonical[record_id])  # midnight UTC of that date
    again = api.get("/crm/v3/objects/contacts", limit=100, properties="gather_signup_date").json()
    assert again["results"] == results["results"]  # the choice is stable per record
    # datetime properties stay ISO unless configured.
    assert all(not r["properties"]["lastmodifieddate"].isdigit() for r in results["results"])
    emulator.set_config(epoch_ms_date_types=["date", "datetime"], epoch_ms_date_share=1.0)
    props = api.get("/crm/v3/objects/contacts", limit=1).json()["results"][0]["properties"]
    assert props["lastmodifieddate"].isdigit()


def test_config_changes_are_validated(emulator: HubSpotEmulator) -> None:
    with pytest.raises(AdminCallError, match="unknown config settings: burst"):
        emulator.set_config(burst=5)
    with pytest.raises(AdminCallError, match="search_cap_rule"):
        emulator.set_config(search_cap_rule="sometimes")
    assert emulator.config()["search_cap_rule"] == "after"


def test_module_scoped_emulator_serves(hubspot_emulator_module: HubSpotEmulator) -> None:
    hubspot_emulator_module.reset()
    record = hubspot_emulator_module.create("companies", {"name": "shared"})
    assert hubspot_emulator_module.dump("companies")[0]["id"] == record["id"]
