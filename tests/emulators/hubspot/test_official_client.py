"""HubSpot's official Python client (`hubspot-api-client`), unmodified and pointed at the
emulator, lists, searches and batch-reads contacts and companies and reads properties."""

from __future__ import annotations

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator

hubspot = pytest.importorskip("hubspot")
from hubspot.crm.companies import BatchReadInputSimplePublicObjectId as CompanyBatchInput  # noqa: E402
from hubspot.crm.companies import PublicObjectSearchRequest as CompanySearch  # noqa: E402
from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId as ContactBatchInput  # noqa: E402
from hubspot.crm.contacts import PublicObjectSearchRequest as ContactSearch  # noqa: E402
from hubspot.crm.contacts.exceptions import ApiException  # noqa: E402


@pytest.fixture
def client(emulator: HubSpotEmulator) -> object:
    emulator.seed(companies=12, contacts=40, seed=11)
    return hubspot.Client.create(access_token=emulator.token, host=emulator.url)


def test_official_client_lists_every_contact_and_company(
    emulator: HubSpotEmulator, client: object
) -> None:
    contacts = client.crm.contacts.get_all(properties=["email", "associatedcompanyid"])  # type: ignore[attr-defined]
    assert [c.id for c in contacts] == [r["id"] for r in emulator.dump("contacts")]
    page = client.crm.companies.basic_api.get_page(limit=5, properties=["name", "city"])  # type: ignore[attr-defined]
    assert len(page.results) == 5
    assert page.paging.next.after == emulator.dump("companies")[5]["id"]
    assert page.results[0].properties["hs_object_id"] == page.results[0].id
    with_assoc = client.crm.contacts.basic_api.get_page(limit=10, associations=["companies"])  # type: ignore[attr-defined]
    assert any(r.associations for r in with_assoc.results)


def test_official_client_searches(emulator: HubSpotEmulator, client: object) -> None:
    request = ContactSearch(
        filter_groups=[
            {"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": "0"}]}
        ],
        sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        properties=["email", "lastmodifieddate"],
        limit=200,
        after="0",
    )
    result = client.crm.contacts.search_api.do_search(public_object_search_request=request)  # type: ignore[attr-defined]
    assert result.total == 40
    assert [r.id for r in result.results] == [r["id"] for r in emulator.dump("contacts")]
    companies = client.crm.companies.search_api.do_search(  # type: ignore[attr-defined]
        public_object_search_request=CompanySearch(limit=3)
    )
    assert companies.total == 12
    assert companies.paging.next.after == "3"


def test_official_client_batch_reads(emulator: HubSpotEmulator, client: object) -> None:
    ids = [r["id"] for r in emulator.dump("contacts")[:3]]
    body = ContactBatchInput(
        inputs=[{"id": i} for i in ids], properties=["email"], properties_with_history=[]
    )
    result = client.crm.contacts.batch_api.read(batch_read_input_simple_public_object_id=body)  # type: ignore[attr-defined]
    assert sorted(r.id for r in result.results) == sorted(ids)
    company_ids = [r["id"] for r in emulator.dump("companies")[:2]]
    body2 = CompanyBatchInput(
        inputs=[{"id": i} for i in company_ids], properties=["name"], properties_with_history=[]
    )
    companies = client.crm.companies.batch_api.read(batch_read_input_simple_public_object_id=body2)  # type: ignore[attr-defined]
    assert sorted(r.id for r in companies.results) == sorted(company_ids)


def test_official_client_reads_properties(client: object) -> None:
    contact_props = client.crm.properties.core_api.get_all(object_type="contacts")  # type: ignore[attr-defined]
    by_name = {p.name: p for p in contact_props.results}
    assert by_name["gather_user_id"].has_unique_value is True
    company_props = client.crm.properties.core_api.get_all(object_type="companies")  # type: ignore[attr-defined]
    assert "hs_lastmodifieddate" in {p.name for p in company_props.results}


def test_official_client_sees_hubspot_errors(emulator: HubSpotEmulator) -> None:
    client = hubspot.Client.create(access_token="wrong", host=emulator.url)
    with pytest.raises(ApiException) as info:
        client.crm.contacts.basic_api.get_page(limit=1)
    assert info.value.status == 401
