"""Every JSON response of every emulated endpoint, success and error, validates against the
matching schema in HubSpot's official OpenAPI specs (`../shared/reference/hubspot-openapi`).

The specs are read from the shared reference folder next to the checkout; the test skips with
a reason when that folder is absent (a user's clone). Known deviations of real HubSpot from its
own specs (hubspot-api.md section 12) are allowed explicitly, and only those:

- KNOWN DEVIATION 1: record `properties` values may be null (a requested property with no
  value), where the spec says string.
- KNOWN DEVIATION 2: v4 association batch read `toObjectId` is a JSON number and an
  association type's `label` is null for unlabeled types (279/280), where the spec says string.
- KNOWN DEVIATION 3 (requests, not responses): search `sorts` are objects, not strings.

Not JSON, so not validated here: the 414 HTML page (checked in test_limits.py).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from emulators.hubspot.pytest_plugin import HubSpotEmulator

SPECS = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "hubspot-openapi"
SPEC_FILES = {
    "contacts": "CRM/Contacts/Rollouts/424/v3/contacts.json",
    "companies": "CRM/Companies/Rollouts/424/v3/companies.json",
    "properties": "CRM/Properties/Rollouts/145899/v3/properties.json",
    "associations": "CRM/Associations/Rollouts/130902/v4/associations.json",
    "oauth": "Auth/Oauth/Rollouts/155908/v1/oauth.json",
}

pytestmark = pytest.mark.skipif(
    not SPECS.is_dir(),
    reason=(
        f"HubSpot's OpenAPI specs are not at {SPECS} "
        "(the shared reference folder is absent, as in a user's clone)"
    ),
)


def _allow_known_deviations(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    for name in ("SimplePublicObject", "SimplePublicObjectWithAssociations"):
        if name in schemas:  # KNOWN DEVIATION 1
            schemas[name]["properties"]["properties"]["additionalProperties"]["nullable"] = True
    if "MultiAssociatedObjectWithLabel" in schemas:  # KNOWN DEVIATION 2
        schemas["MultiAssociatedObjectWithLabel"]["properties"]["toObjectId"] = {"type": "integer"}
        schemas["AssociationSpecWithLabel"]["properties"]["label"]["nullable"] = True
    return spec


def _load(name: str) -> dict[str, Any]:
    return _allow_known_deviations(json.loads((SPECS / SPEC_FILES[name]).read_text()))


@dataclass
class Exchange:
    spec: str
    path: str  # the spec's path template
    method: str
    response: requests.Response


def _schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    responses = spec["paths"][path][method.lower()]["responses"]
    entry = responses.get(str(status)) or responses["default"]
    if "$ref" in entry:
        entry = spec["components"]["responses"][entry["$ref"].rsplit("/", 1)[-1]]
    content = entry["content"]
    media = content.get("application/json") or content.get("*/*")
    return {**media["schema"], "components": spec["components"]}


class Recorder:
    def __init__(self, emulator: HubSpotEmulator) -> None:
        self.emulator = emulator
        self.exchanges: list[Exchange] = []

    def call(
        self, spec: str, path: str, method: str, url_path: str, *, auth: bool = True, **kw: Any
    ) -> requests.Response:
        headers = self.emulator.auth_headers if auth else {}
        response = requests.request(
            method, self.emulator.url + url_path, headers=headers, timeout=30, **kw
        )
        assert response.headers["Content-Type"].startswith("application/json"), response.text
        self.exchanges.append(Exchange(spec, path, method, response))
        return response


def _scenario(emulator: HubSpotEmulator) -> Recorder:
    emulator.unlimit()
    emulator.seed(companies=5, contacts=30, custom_properties=2, epoch_ms_date_share=0.5)
    r = Recorder(emulator)
    contact = emulator.dump("contacts")[0]
    company = emulator.dump("companies")[0]
    for kind in ("contacts", "companies"):
        base = f"/crm/v3/objects/{kind}"
        one = contact["id"] if kind == "contacts" else company["id"]
        other = "companies" if kind == "contacts" else "contacts"
        params = {
            "limit": 5,
            "associations": other,
            "properties": "city,gather_signup_date,contract_start_date",
        }
        r.call(kind, base, "GET", base, params=params)
        r.call(kind, base, "GET", base, params={"archived": "true"})
        r.call(kind, base, "GET", base, auth=False)
        r.call(kind, base, "GET", base, params={"after": "x"})
        item = base + "/{" + ("contactId" if kind == "contacts" else "companyId") + "}"
        r.call(kind, item, "GET", f"{base}/{one}", params={"associations": other})
        r.call(kind, item, "GET", f"{base}/987654321")
        batch = base + "/batch/read"
        r.call(kind, batch, "POST", batch, json={"inputs": [{"id": one}], "properties": ["city"]})
        r.call(
            kind,
            batch,
            "POST",
            batch,
            json={"inputs": [{"id": one}, {"id": "1"}], "properties": []},
        )
        r.call(kind, batch, "POST", batch, json={"inputs": [{"id": str(i)} for i in range(101)]})
        search = base + "/search"
        sort = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        r.call(kind, search, "POST", search, json={"limit": 3, "sorts": sort})
        r.call(kind, search, "POST", search, json={"limit": 3, "after": "10000"})
        r.call(
            kind,
            search,
            "POST",
            search,
            json={"filterGroups": [{"filters": [{"propertyName": "x"}]}]},
        )
        r.call(kind, search, "POST", search, data=b"{not json")
        props = "/crm/v3/properties/{objectType}"
        r.call("properties", props, "GET", f"/crm/v3/properties/{kind}")
        r.call("properties", props + "/{propertyName}", "GET", f"/crm/v3/properties/{kind}/city")
        r.call("properties", props + "/{propertyName}", "GET", f"/crm/v3/properties/{kind}/nope")
        v4 = "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read"
        inputs = [{"id": one}, {"id": "424242"}]
        r.call(
            "associations",
            v4,
            "POST",
            f"/crm/v4/associations/{kind}/{other}/batch/read",
            json={"inputs": inputs},
        )
        r.call(
            "associations",
            v4,
            "POST",
            f"/crm/v4/associations/{kind}/{other}/batch/read",
            json={"inputs": inputs[:1]},
        )
        r.call(
            "associations",
            v4,
            "POST",
            f"/crm/v4/associations/{kind}/deals/batch/read",
            json={"inputs": []},
        )
    _identity_changes(emulator, r)
    token = "/oauth/v1/token"
    client = emulator.oauth_client
    form = {
        "grant_type": "refresh_token",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "refresh_token": client.refresh_token,
    }
    granted = r.call("oauth", token, "POST", token, auth=False, data=form).json()
    r.call("oauth", token, "POST", token, auth=False, data={**form, "refresh_token": "bad"})
    emulator.expire_tokens()
    contacts = "/crm/v3/objects/contacts"
    stale = {"Authorization": f"Bearer {granted['access_token']}"}
    r.exchanges.append(
        Exchange(
            "contacts",
            contacts,
            "GET",
            requests.get(emulator.url + contacts, headers=stale, timeout=30),
        )
    )
    emulator.set_config(burst_limit=1, search_per_second=1)
    r.call("contacts", contacts, "GET", contacts)
    r.call("contacts", contacts, "GET", contacts)  # 429 ten-secondly
    r.call("contacts", contacts + "/search", "POST", contacts + "/search", json={})
    r.call("contacts", contacts + "/search", "POST", contacts + "/search", json={})  # 429 secondly
    emulator.unlimit()
    emulator.set_config(daily_limit=0)
    r.call("contacts", contacts, "GET", contacts)  # 429 daily
    emulator.unlimit()
    emulator.set_faults([{"path": ".*", "status": status} for status in (429, 500, 502, 503, 504)])
    for _ in range(5):
        r.call("companies", "/crm/v3/objects/companies", "GET", "/crm/v3/objects/companies")
    return r


def _identity_changes(emulator: HubSpotEmulator, r: Recorder) -> None:
    """Merges (new-id and legacy), reads by absorbed ids, GDPR deletes and their errors."""
    for kind in ("contacts", "companies"):
        base = f"/crm/v3/objects/{kind}"
        ids = [record["id"] for record in emulator.dump(kind)]
        merge = base + "/merge"
        body = {"primaryObjectId": ids[0], "objectIdToMerge": ids[1]}
        merged = r.call(kind, merge, "POST", merge, json=body).json()["id"]
        emulator.set_config(merge_new_id=False)
        r.call(
            kind, merge, "POST", merge, json={"primaryObjectId": merged, "objectIdToMerge": ids[2]}
        )
        emulator.set_config(merge_new_id=True)
        r.call(
            kind, merge, "POST", merge, json={"primaryObjectId": ids[0], "objectIdToMerge": ids[3]}
        )
        r.call(kind, merge, "POST", merge, json={"primaryObjectId": "x"})
        item = base + "/{" + ("contactId" if kind == "contacts" else "companyId") + "}"
        r.call(kind, item, "GET", f"{base}/{ids[1]}")  # an absorbed id: the merged record
        batch = base + "/batch/read"
        inputs = [{"id": ids[0]}, {"id": ids[1]}, {"id": merged}]
        r.call(kind, batch, "POST", batch, json={"inputs": inputs, "properties": []})
    gdpr = "/crm/v3/objects/contacts/gdpr-delete"
    contact = emulator.dump("contacts")[-1]["id"]
    deleted = requests.post(
        emulator.url + gdpr, json={"objectId": contact}, headers=emulator.auth_headers, timeout=30
    )
    assert deleted.status_code == 204, deleted.text
    r.call("contacts", gdpr, "POST", gdpr, json={"objectId": contact})  # 404: gone
    r.call("contacts", gdpr, "POST", gdpr, json={"idProperty": "email"})  # 400


def test_every_json_response_validates_against_hubspots_openapi_specs(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    specs = {name: _load(name) for name in SPEC_FILES}
    recorder = _scenario(hubspot_emulator)
    failures = []
    statuses = set()
    for exchange in recorder.exchanges:
        status = exchange.response.status_code
        statuses.add(status)
        schema = _schema(specs[exchange.spec], exchange.path, exchange.method, status)
        validator = OAS30Validator(schema, format_checker=oas30_format_checker)
        errors = sorted(validator.iter_errors(exchange.response.json()), key=str)
        if errors:
            failures.append(f"{exchange.method} {exchange.path} -> {status}: {errors[0].message}")
    assert not failures, "\n".join(failures)
    # The scenario really exercised successes, multi-status and each error family.
    assert {200, 207, 400, 401, 404, 429, 500, 502, 503, 504} <= statuses
