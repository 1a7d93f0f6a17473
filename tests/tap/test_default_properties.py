"""Discovery without credentials: HubSpot's default properties, declared per object, kept honest
against the emulator's portal; no request is made."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.objects import OBJECTS, CrmObject
from tests.tap.harness import discover

HTTP_TIMEOUT_S = 10


def _stream(catalog: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in catalog["streams"] if s["tap_stream_id"] == name)


def _portal_properties(hubspot: HubSpotEmulator, object_type: str) -> dict[str, dict[str, Any]]:
    """`GET /crm/properties/2026-09/{object_type}` as the tap reads it, by name."""
    response = requests.get(
        f"{hubspot.url}/crm/properties/2026-09/{object_type}",
        headers=hubspot.auth_headers,
        timeout=HTTP_TIMEOUT_S,
    )
    response.raise_for_status()
    return {item["name"]: item for item in response.json()["results"]}


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: o.stream_name)
def test_each_default_property_is_hubspot_defined_with_the_type_discovery_reads(
    hubspot: HubSpotEmulator, config: dict[str, Any], obj: CrmObject
) -> None:
    hubspot.seed(companies=1, contacts=1)
    portal = _portal_properties(hubspot, obj.object_type)
    with_credentials = _stream(discover(config), obj.stream_name)["schema"]["properties"]
    without = {k: v for k, v in config.items() if k != "access_token"}
    static = _stream(discover(without), obj.stream_name)["schema"]["properties"]

    assert obj.default_properties, f"{obj.stream_name} declares no default properties"
    for prop in obj.default_properties:
        assert prop.name in portal, f"{prop.name} is not a {obj.object_type} property"
        assert portal[prop.name].get("hubspotDefined") is True, prop.name
        assert portal[prop.name]["type"] == prop.type, prop.name
        assert static[prop.name] == with_credentials[prop.name], prop.name


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: o.stream_name)
def test_the_defaults_hold_what_the_sync_requests(obj: CrmObject) -> None:
    names = [p.name for p in obj.default_properties]
    assert len(names) == len(set(names)), "a default property is declared twice"
    assert {obj.modified_property, *obj.extra_properties} <= set(names)


def test_without_credentials_the_catalog_is_the_defaults_and_no_request_is_made(
    hubspot: HubSpotEmulator,
) -> None:
    hubspot.reset_stats()

    catalog = discover({"api_url": hubspot.url})

    assert hubspot.stats()["total"] == 0
    for obj in OBJECTS:
        stream = _stream(catalog, obj.stream_name)
        assert stream["key_properties"] == [obj.hubspot_id_field]
        properties = set(stream["schema"]["properties"])
        assert {p.name for p in obj.default_properties} <= properties
        assert "gather_signup_date" not in properties  # a custom property needs credentials


def test_without_credentials_a_custom_id_property_is_a_string_key(hubspot: HubSpotEmulator) -> None:
    hubspot.reset_stats()
    settings = {
        "api_url": hubspot.url,
        "account_id_property": "gather_account_id",
        "user_id_property": "email",  # built in, and one of the defaults
    }

    catalog = discover(settings)

    assert hubspot.stats()["total"] == 0
    companies = _stream(catalog, "companies")
    assert companies["key_properties"] == ["gather_account_id"]
    assert companies["schema"]["properties"]["gather_account_id"] == {"type": ["string"]}
    assert _stream(catalog, "contacts")["key_properties"] == ["email"]


def test_with_credentials_the_portal_properties_are_listed(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=1, contacts=1)

    properties = _stream(discover(config), "contacts")["schema"]["properties"]

    assert "gather_signup_date" in properties  # the portal's own property
