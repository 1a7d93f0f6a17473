"""`--suggest` ranks candidate ID properties from definitions and one scan of values, and the
report tells the identity cases it sees and what keep and mirror mode do with them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.check.render import report_json_schema
from tap_hubspot_gather.check.suggest import candidate_properties
from tap_hubspot_gather.objects import CONTACTS
from tap_hubspot_gather.properties import PropertyDef
from tests.check.conftest import CheckRun

JSON = ("--format", "json", "--quiet")
LIST_CONTACTS = "GET /crm/objects/{version}/{object_type}"
PROPERTIES = "GET /crm/properties/{version}/{object_type}"


def _candidates(report: dict[str, Any], object_type: str) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["suggestions"][object_type]["candidates"]}


def _seed(hubspot: HubSpotEmulator, *, internal_ids: bool) -> None:
    """8 companies (legacy refs shared in pairs) and 8 contacts (two emails differing only by
    case, one contact without email)."""
    companies = []
    for i in range(8):
        props = {"name": f"C{i}", "legacy_account_ref": f"L-{i // 2}"}
        if internal_ids:
            props["gather_account_id"] = f"A-{i}"
        companies.append(hubspot.create("companies", props)["id"])
    for i in range(8):
        props = {"firstname": f"F{i}", "legacy_user_ref": f"R-{i}"}
        if i < 7:
            props["email"] = "Dup@Example.com" if i == 0 else f"u{i}@example.com"
        if i == 1:
            props["email"] = " dup@example.com"
        if internal_ids:
            props["gather_user_id"] = f"U-{i}"
        hubspot.create("contacts", props, company_ids=[companies[i]])


def test_a_unique_full_internal_id_is_recommended_with_its_reason(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    _seed(hubspot, internal_ids=True)
    settings |= {"account_id_property": "companyId", "user_id_property": "vid"}

    run = run_check(settings, "--suggest", *JSON)

    report = run.report
    jsonschema.validate(report, report_json_schema())
    companies = report["suggestions"]["companies"]
    assert companies["recommended"] == "gather_account_id"
    assert companies["reason"].startswith(
        "gather_account_id: unique, 100.0% filled, HubSpot enforces unique values"
    )
    assert "companyId needs your other tools to know HubSpot's company ids" in companies["reason"]
    found = _candidates(report, "companies")
    assert found["legacy_account_ref"]["duplicate_values"] == 4
    assert found["legacy_account_ref"]["duplicate_records"] == 8
    assert found["companyId"]["coverage"] == 1.0
    assert [c["name"] for c in companies["candidates"]][:2] == ["gather_account_id", "companyId"]

    contacts = report["suggestions"]["contacts"]
    assert contacts["recommended"] == "gather_user_id"
    email = _candidates(report, "contacts")["email"]
    # "Dup@Example.com" and " dup@example.com" are one key, as the sync keys emails.
    assert (email["filled"], email["duplicate_values"], email["duplicate_records"]) == (7, 1, 2)
    assert set(_candidates(report, "contacts")) >= {"vid", "email", "gather_user_id"}


def test_without_internal_ids_the_builtin_is_recommended_and_the_closest_named(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    _seed(hubspot, internal_ids=False)
    settings |= {"account_id_property": "companyId", "user_id_property": "vid"}

    run = run_check(settings, "--suggest", "--quiet")

    assert run.code == 0, run.stderr
    text = run.stdout
    assert "recommended: account_id_property = companyId" in text
    assert "no property of yours is unique and 50% filled" in text
    assert "(closest: legacy_account_ref: 4 values shared by 8 companies" in text
    assert "recommended: user_id_property = legacy_user_ref" in text
    assert "legacy_user_ref: unique, 100.0% filled" in text
    assert text.strip().splitlines()[-1].startswith("READY")


def test_candidates_come_from_the_definitions_the_tap_read() -> None:
    """Unique, custom ID-like and configured properties; HubSpot-defined or calculated ID-like
    names are not candidates; email is added with its uniqueness."""
    items: list[dict[str, Any]] = [
        {"name": "legacy_user_ref", "type": "string"},
        {"name": "gather_user_id", "type": "string", "hasUniqueValue": True},
        {"name": "hs_some_id", "type": "string", "hubspotDefined": True},
        {"name": "score_code", "type": "number", "calculated": True},
        {"name": "favourite_colour", "type": "string"},
        {"name": "nickname", "type": "string"},
        {"name": "hs_object_id", "type": "number", "hubspotDefined": True},
        {"name": "email", "type": "string", "hubspotDefined": True, "hasUniqueValue": True},
    ]
    definitions = [PropertyDef.from_api(item) for item in items]

    found = candidate_properties(CONTACTS, definitions, "nickname")

    assert [(c.name, c.kind, c.has_unique_value) for c in found] == [
        ("gather_user_id", "property", True),
        ("nickname", "property", False),
        ("legacy_user_ref", "property", False),
        ("email", "email", True),
    ]


def test_every_candidate_is_read_in_the_one_scan(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    """Same list requests with or without --suggest (250 contacts: 3 pages each way; one
    companies page; one page of archived records per object; the credential's probe read per
    object)."""
    hubspot.seed(companies=20, contacts=250, seed=3)
    settings |= {"account_id_property": "gather_account_id", "user_id_property": "email"}

    def list_requests(*args: str) -> int:
        hubspot.reset_stats()
        run_check(settings, *args, *JSON)
        route: dict[str, Any] = hubspot.stats()["routes"][LIST_CONTACTS]
        return int(route["total"])

    assert list_requests("--suggest") == list_requests() == 1 + 3 + 2 + 2


def test_suggest_reads_property_definitions_once_per_object(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    """--suggest ranks from the definitions the check already read: no second request."""
    _seed(hubspot, internal_ids=True)

    def definition_requests(*args: str) -> int:
        hubspot.reset_stats()
        run_check(settings, *args, *JSON)
        route: dict[str, Any] = hubspot.stats()["routes"][PROPERTIES]
        return int(route["total"])

    assert definition_requests("--suggest") == definition_requests() == 2


def test_identity_cases_say_what_keep_and_mirror_do(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    company = hubspot.create("companies", {"name": "NoId"})["id"]
    hubspot.create("contacts", {"email": "a@example.com", "legacy_user_ref": "X"})
    hubspot.create(
        "contacts", {"email": "b@example.com", "legacy_user_ref": "X"}, company_ids=[company]
    )
    hubspot.create("contacts", {"email": "c@example.com"}, company_ids=[company])
    settings |= {
        "account_id_property": "gather_account_id",
        "user_id_property": "legacy_user_ref",
    }

    run = run_check(settings, *JSON)

    report = run.report
    jsonschema.validate(report, report_json_schema())
    assert report["suggestions"] is None
    cases = {(c["object"], c["code"]): c for c in report["identity_cases"]}
    assert set(cases) == {
        ("companies", "no_id"),
        ("contacts", "shared_ids"),
        ("contacts", "no_id"),
        ("contacts", "uniqueness_not_enforced"),
        ("contacts", "no_primary_company"),
        ("contacts", "company_without_account_id"),
    }
    shared = cases[("contacts", "shared_ids")]
    assert shared["count"] == 2
    assert "nothing is deleted" in shared["keep"]
    assert "never deleted while one live HubSpot record still holds its ID" in shared["mirror"]
    assert cases[("contacts", "company_without_account_id")]["count"] == 2
    assert (
        "links follow HubSpot in both modes" in cases[("contacts", "no_primary_company")]["mirror"]
    )

    text = run_check(settings, "--quiet").stdout
    assert "Identity cases and what each sync mode does" in text
    assert "      keep: the 2 contacts sharing 1 ID value become 1 user" in text


def test_an_archived_contact_whose_email_a_live_contact_took_is_named_with_what_mirror_keeps(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    old = hubspot.create("contacts", {"email": "Same@Example.com"})["id"]
    hubspot.archive("contacts", old)
    gone = hubspot.create("contacts", {"email": "gone@example.com"})["id"]
    hubspot.archive("contacts", gone)
    hubspot.create("contacts", {"email": "same@example.com"})
    settings |= {"account_id_property": "companyId", "user_id_property": "email"}

    report = run_check(settings, *JSON).report

    jsonschema.validate(report, report_json_schema())
    cases = {(c["object"], c["code"]): c for c in report["identity_cases"]}
    assert cases[("contacts", "archived")]["count"] == 2
    assert "are deleted" in cases[("contacts", "archived")]["mirror"]
    held = cases[("contacts", "archived_id_held_by_live_record")]
    assert held["count"] == 1
    assert f"sample HubSpot ids: {old}" in held["keep"]
    assert held["mirror"] == "that user is not deleted: a live HubSpot record still holds its ID"
