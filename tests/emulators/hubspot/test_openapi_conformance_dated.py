"""Every JSON response of the date-versioned endpoints (2026-03, 2026-09: CRM objects, search,
batch read, merge, properties, associations; OAuth token and introspection; account details)
matches the response model of HubSpot's official date-versioned Python SDK, `hubspot-sdk`
(https://pypi.org/project/hubspot-sdk/, Apache-2.0, "generated from our OpenAPI spec",
0.1.0a9, which targets 2026-03).

HubSpot's spec collection (github.com/HubSpot/HubSpot-public-api-spec-collection) holds the
date-versioned specs, but its README says they "are proprietary to HubSpot and are not licensed
for external use", so they are not copied here; the SDK's models carry the same schemas and
install with the dev environment. The SDK has no 2026-09 models; HubSpot's 2026-09 GA files
keep the 2026-03 schemas except that `ForwardPaging` may be empty on the last page, which the
2026-03 `ForwardPaging` model (its `next` optional) already accepts, so 2026-09 responses are
checked against the same models. A body must hold every field the model requires, only fields
it declares, values of the declared types and allowed literal values. Allowed explicitly, and
only these:

- KNOWN DEVIATIONS as for v3 (test_openapi_conformance.py): null property values, numeric
  `toObjectId`.
- WITH_ERRORS: a 207 batch answer adds the spec's `errors` (each a `StandardError`, checked)
  and `numErrors` to the 200 model (the SDK folds the spec's `...WithErrors` 207 schemas into
  the 200 model).
- NEWER_FIELDS: fields the specs gained after the SDK release: `warnings` on records (June
  2026), `appInstallId` and `audience` of an introspected `signed_access_token` (required by
  the OAuth 2026-03 spec file at the collection's commit 99893791, August 2026).
- An inactive token's introspection is exactly `{"active": false}` (RFC 7662 section 2.2),
  where the spec's models require every field.
- Error bodies (any status >= 400 but 207) are checked against the `Error` model of the v3
  client (the SDK raises on errors and has no such model; the specs' `Error` schema is the same
  in both), with OAuth's RFC 6749 `error` / `error_description` as the extra fields it allows.
"""

from __future__ import annotations

import datetime as dt
import importlib
import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import pydantic
import pytest
import requests

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from emulators.hubspot.versions import DATE_VERSIONS
from tests.emulators.hubspot.test_openapi_conformance import Checker, ClientSpec, send_for_json

SDK = "hubspot_sdk.types."
# Response model per emulated operation (from the SDK's resources' `cast_to` / page types).
MODELS = {
    "list": "crm.collection_response_simple_public_object_with_associations_forward_paging."
    "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging",
    "get": "crm.simple_public_object_with_associations.SimplePublicObjectWithAssociations",
    "search": "crm.collection_response_with_total_simple_public_object."
    "CollectionResponseWithTotalSimplePublicObject",
    "batch_read": "crm.batch_response_simple_public_object.BatchResponseSimplePublicObject",
    "merge": "crm.simple_public_object.SimplePublicObject",
    "properties": "crm.collection_response_property_no_paging.CollectionResponsePropertyNoPaging",
    "property": "shared.property.Property",
    "associations": "crm.batch_response_public_association_multi_with_label."
    "BatchResponsePublicAssociationMultiWithLabel",
    "token": "auth.access_token_response.AccessTokenResponse",
    "client_credentials": "auth.client_credentials_token_response.ClientCredentialsTokenResponse",
    "introspect_access": "auth.public_access_token_info_response.PublicAccessTokenInfoResponse",
    "introspect_refresh": "auth.public_refresh_token_info_response.PublicRefreshTokenInfoResponse",
    "account": "account.portal_information_response.PortalInformationResponse",
}
STANDARD_ERROR = "shared.standard_error.StandardError"
# (model, JSON field) -> the type real HubSpot sends there (KNOWN DEVIATIONS 1 and 2).
DEVIATIONS: dict[tuple[str, str], Any] = {
    ("SimplePublicObject", "properties"): dict[str, str | None],
    ("SimplePublicObjectWithAssociations", "properties"): dict[str, str | None],
    ("MultiAssociatedObjectWithLabel", "toObjectId"): str | int,
}
NEWER_FIELDS = {
    "SimplePublicObject": {"warnings"},
    "SimplePublicObjectWithAssociations": {"warnings"},
    "SignedAccessToken": {"appInstallId", "audience"},
}
WITH_ERRORS = {"BatchResponseSimplePublicObject", "BatchResponsePublicAssociationMultiWithLabel"}
RFC_6749_FIELDS = {"error", "error_description"}


def sdk_model(name: str) -> type[pydantic.BaseModel]:
    module, _, cls = (SDK + name).rpartition(".")
    model: type[pydantic.BaseModel] = getattr(importlib.import_module(module), cls)
    return model


class SdkChecker:
    """Compares a JSON value with an SDK (pydantic) annotation; collects readable mismatches."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def check(self, value: Any, annotation: Any, where: str) -> None:
        origin, args = get_origin(annotation), get_args(annotation)
        if annotation in (Any, object):
            return
        if origin in (Union, types.UnionType):
            self._check_union(value, args, where)
        elif value is None:
            self.errors.append(f"{where}: null where {annotation} is declared")
        elif origin is list:
            self._check_list(value, args[0], where)
        elif origin is dict:
            self._check_dict(value, args[1], where)
        elif origin is Literal:
            if value not in args:
                self.errors.append(f"{where}: {value!r} is not one of {args}")
        elif annotation is dt.datetime:
            self._check_datetime(value, where)
        elif isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
            self.check_model(value, annotation, where)
        else:
            self._check_primitive(value, annotation, where)

    def _check_union(self, value: Any, args: tuple[Any, ...], where: str) -> None:
        if value is None and type(None) in args:
            return
        for option in args:
            trial = SdkChecker()
            trial.check(value, option, where)
            if not trial.errors:
                return
        self.errors.append(f"{where}: {value!r} matches none of {args}")

    def _check_list(self, value: Any, inner: Any, where: str) -> None:
        if not isinstance(value, list):
            self.errors.append(f"{where}: {type(value).__name__}, not a list")
            return
        for n, item in enumerate(value):
            self.check(item, inner, f"{where}[{n}]")

    def _check_dict(self, value: Any, inner: Any, where: str) -> None:
        if not isinstance(value, dict):
            self.errors.append(f"{where}: {type(value).__name__}, not an object")
            return
        for key, item in value.items():
            self.check(item, inner, f"{where}.{key}")

    def _check_datetime(self, value: Any, where: str) -> None:
        try:
            dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            self.errors.append(f"{where}: {value!r} is not an ISO datetime")

    def _check_primitive(self, value: Any, annotation: Any, where: str) -> None:
        allowed = (int, float) if annotation is float else (annotation,)
        if not isinstance(value, allowed) or (isinstance(value, bool) and annotation is not bool):
            kind = getattr(annotation, "__name__", annotation)
            self.errors.append(f"{where}: {value!r} is not {kind}")

    def check_model(self, value: Any, model: type[pydantic.BaseModel], where: str) -> None:
        name = model.__name__
        if not isinstance(value, dict):
            self.errors.append(f"{where}: {type(value).__name__}, not a {name}")
            return
        fields = {(f.alias or attr): f for attr, f in model.model_fields.items()}
        allowed = set(fields) | NEWER_FIELDS.get(name, set())
        if name in WITH_ERRORS:
            allowed |= {"errors", "numErrors"}
            self.check(value.get("numErrors", 0), int, f"{where}.numErrors")
            self.check(value.get("errors", []), list[sdk_model(STANDARD_ERROR)], f"{where}.errors")
        unknown = sorted(set(value) - allowed)
        if unknown:
            self.errors.append(f"{where}: {name} has no fields {unknown}")
        for json_name, field in fields.items():
            if json_name not in value:
                if field.is_required():
                    self.errors.append(f"{where}.{json_name}: required by {name}, missing")
                continue
            annotation = DEVIATIONS.get((name, json_name), field.annotation)
            self.check(value[json_name], annotation, f"{where}.{json_name}")


@dataclass
class Exchange:
    operation: str
    response: requests.Response


class Recorder:
    def __init__(self, emulator: HubSpotEmulator) -> None:
        self.emulator = emulator
        self.exchanges: list[Exchange] = []

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        auth: bool = True,
        **kw: Any,
    ) -> requests.Response:
        headers = kw.pop("headers", None) or (self.emulator.auth_headers if auth else {})
        response = send_for_json(self.emulator, method, path, headers, **kw)
        self.exchanges.append(Exchange(operation, response))
        return response


def _crm(r: Recorder, version: str, contact: str, company: str) -> None:
    pairs = (("contacts", contact, "companies"), ("companies", company, "contacts"))
    for kind, one, other in pairs:
        base = f"/crm/objects/{version}/{kind}"
        params = {"limit": 2, "associations": other, "properties": "city,gather_signup_date"}
        r.call("list", "GET", base, params=params)
        r.call("list", "GET", base, params={"limit": 100})  # the last page
        r.call("list", "GET", base, params={"archived": "true"})
        r.call("list", "GET", base, params={"after": "x"})
        r.call("list", "GET", base, auth=False)
        r.call("get", "GET", f"{base}/{one}", params={"associations": other})
        r.call("get", "GET", f"{base}/987654321")
        history = {"propertiesWithHistory": "city,hs_object_id", "limit": 50}
        r.call("list", "GET", base, params=history)
        r.call("list", "GET", base, params={**history, "limit": 100})  # 400: 50 with history
        r.call("get", "GET", f"{base}/{one}", params=history)
        batch = f"{base}/batch/read"
        r.call("batch_read", "POST", batch, json={"inputs": [{"id": one}], "properties": ["city"]})
        with_history = {"inputs": [{"id": one}], "propertiesWithHistory": ["city"]}
        r.call("batch_read", "POST", batch, json={**with_history, "properties": []})
        r.call("batch_read", "POST", batch, json={"inputs": [{"id": one}, {"id": "1"}]})
        r.call("batch_read", "POST", batch, json={"inputs": [{"id": str(i)} for i in range(101)]})
        search = f"{base}/search"
        sort = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        r.call("search", "POST", search, json={"limit": 3, "sorts": sort})
        r.call("search", "POST", search, json={"limit": 200})  # the last page
        r.call("search", "POST", search, json={"limit": 3, "after": "10000"})
        props = f"/crm/properties/{version}/{kind}"
        r.call("properties", "GET", props)
        r.call("property", "GET", f"{props}/city")
        r.call("property", "GET", f"{props}/nope")
        assoc = f"/crm/associations/{version}/{kind}/{other}/batch/read"
        r.call("associations", "POST", assoc, json={"inputs": [{"id": one}]})
        r.call("associations", "POST", assoc, json={"inputs": [{"id": one}, {"id": "424242"}]})
    r.emulator.set_config(record_warnings=True)
    r.call("list", "GET", f"/crm/objects/{version}/contacts", params={"limit": 3})
    r.emulator.set_config(record_warnings=False)
    ids = [record["id"] for record in r.emulator.dump("contacts")]
    merge = f"/crm/objects/{version}/contacts/merge"
    body = {"primaryObjectId": ids[-1], "objectIdToMerge": ids[-2]}
    r.call("merge", "POST", merge, json=body)
    r.call("merge", "POST", merge, json={"primaryObjectId": "x"})
    gdpr = f"/crm/objects/{version}/contacts/gdpr-delete"
    r.call("merge", "POST", gdpr, json={"objectId": "987654321"})  # 404: an error body
    r.call("account", "GET", f"/account-info/{version}/details")


def _oauth(r: Recorder, version: str) -> None:
    emulator = r.emulator
    client = emulator.oauth_client
    path = f"/oauth/{version}/token"
    secret = {"client_id": client.client_id, "client_secret": client.client_secret}
    refresh = {**secret, "grant_type": "refresh_token", "refresh_token": client.refresh_token}
    access = r.call("token", "POST", path, auth=False, data=refresh).json()["access_token"]
    r.call("token", "POST", path, auth=False, data={**refresh, "refresh_token": "bad"})
    r.call("token", "POST", path, auth=False, data={**refresh, "client_secret": "bad"})
    r.call("token", "POST", path, auth=False, params={"client_secret": "x"}, data=refresh)
    form = {**secret, "grant_type": "client_credentials", "scope": "crm.objects.contacts.read"}
    r.call("client_credentials", "POST", path, auth=False, data=form)
    introspect = path + "/introspect"
    r.call("introspect_access", "POST", introspect, auth=False, data={**secret, "token": access})
    r.call(
        "introspect_refresh",
        "POST",
        introspect,
        auth=False,
        data={**secret, "token": client.refresh_token},
    )
    unknown = {**secret, "token": "x"}
    inactive = r.call("introspect_access", "POST", introspect, auth=False, data=unknown)
    assert inactive.json() == {"active": False}
    r.exchanges.pop()  # checked just above: RFC 7662's inactive answer
    r.call("introspect_access", "POST", introspect, auth=False, data={"token": access})


def _errors(r: Recorder) -> None:
    emulator = r.emulator
    key = emulator.create_service_key(["crm.objects.contacts.read"])
    scoped = {"Authorization": f"Bearer {key}"}
    r.call("list", "GET", "/crm/objects/2026-09/companies", headers=scoped)
    r.call("list", "GET", "/crm/objects/2025-09/contacts")
    emulator.set_config(legacy_apis=False)
    r.call("list", "GET", "/crm/v3/objects/contacts")
    emulator.set_config(legacy_apis=True, burst_limit=1)
    r.call("list", "GET", "/crm/objects/2026-09/contacts")
    r.call("list", "GET", "/crm/objects/2026-09/contacts")  # 429
    emulator.unlimit()


def test_every_date_versioned_json_response_matches_the_official_sdks_models(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    emulator = hubspot_emulator
    emulator.unlimit()
    emulator.seed(companies=5, contacts=30, custom_properties=2, epoch_ms_date_share=0.5)
    contact = emulator.dump("contacts")[0]["id"]
    company = emulator.dump("companies")[0]["id"]
    r = Recorder(emulator)
    for version in DATE_VERSIONS:
        _crm(r, version, contact, company)
        _oauth(r, version)
    _errors(r)
    error_spec = ClientSpec.load("hubspot.crm.contacts")
    failures, statuses, operations = [], set(), set()
    for exchange in r.exchanges:
        status = exchange.response.status_code
        statuses.add(status)
        body = exchange.response.json()
        if status >= 400 and status != 207:
            checker = Checker(error_spec)
            checker.check(body, "Error", "Error")
            problems = checker.errors
        else:
            operations.add(exchange.operation)
            sdk = SdkChecker()
            model = sdk_model(MODELS[exchange.operation])
            sdk.check_model(body, model, model.__name__)
            problems = sdk.errors
        if problems:
            request = exchange.response.request
            failures.append(f"{request.method} {request.path_url} -> {status}: {problems[0]}")
    assert not failures, "\n".join(failures)
    assert {200, 207, 400, 401, 403, 404, 429} <= statuses
    assert operations == set(MODELS)  # every operation answered successfully at least once


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"id": "1", "archived": False, "createdAt": "2024-01-01T00:00:00Z"}, "missing"),
        ({"archived": "no"}, "is not bool"),
        ({"unexpected": 1}, "has no fields"),
        ({"createdAt": "yesterday"}, "ISO datetime"),
        ({"properties": {"a": 1}}, "matches none"),
    ],
)
def test_the_sdk_checker_refuses_what_the_models_refuse(bad: dict[str, Any], expected: str) -> None:
    good = {"id": "1", "properties": {"a": None}, "createdAt": "2024-01-01T00:00:00Z",
            "updatedAt": "2024-01-01T00:00:00Z", "archived": False}  # fmt: skip
    model = sdk_model(MODELS["merge"])
    clean = SdkChecker()
    clean.check_model(good, model, "x")
    assert clean.errors == []  # KNOWN DEVIATION 1 allowed
    body = bad if expected == "missing" else {**good, **bad}
    checker = SdkChecker()
    checker.check_model(body, model, "x")
    assert any(expected in error for error in checker.errors), checker.errors
    literal = SdkChecker()
    literal.check_model(
        {"access_token": "a", "expires_in": 1, "token_type": "bearer", "token_use": "other",
         "refresh_token": "r"},
        sdk_model(MODELS["token"]),
        "t",
    )  # fmt: skip
    assert any("is not one of" in error for error in literal.errors)
