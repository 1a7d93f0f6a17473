"""Seeded portal problems are each found and reported exactly.

Expectations are computed here from the emulator's admin dump with the plain rule the sync
keys by (trim; lower-case for email), never by calling the check's own code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.check.conftest import CheckRun

ALL = ("--format", "json", "--sample-size", "1000", "--max-duplicates", "1000", "--quiet")


def _key(value: Any, *, email: bool) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    return text.lower() if email else text


def _expected(dump: list[dict[str, Any]], prop: str, *, email: bool = False) -> dict[str, Any]:
    """Missing ids and duplicate groups ({value: [hubspot ids]}) from an admin dump."""
    ordered = sorted(dump, key=lambda r: int(r["id"]))
    groups: dict[str, list[str]] = defaultdict(list)
    missing: list[str] = []
    for record in ordered:
        key = _key(record["properties"].get(prop), email=email)
        if key is None:
            missing.append(record["id"])
        else:
            groups[key].append(record["id"])
    return {
        "total": len(ordered),
        "missing": missing,
        "duplicates": {k: v for k, v in groups.items() if len(v) > 1},
    }


def _reported_duplicates(section: dict[str, Any]) -> dict[str, list[str]]:
    return {g["value"]: g["hubspot_ids"] for g in section["duplicates"]["groups"]}


def _codes(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(p["object"], p["code"], p["severity"]) for p in report["problems"]}


def _seed_problems(hubspot: HubSpotEmulator) -> dict[str, str]:
    """A small portal with every problem the check looks for; returns named ids."""
    ids: dict[str, str] = {}

    def company(name: str, ref: str | None) -> None:
        props = {"name": name} if ref is None else {"name": name, "legacy_account_ref": ref}
        ids[name] = hubspot.create("companies", props)["id"]

    company("acme", "LA-1")
    company("acme-dup", "LA-1")  # duplicate
    company("acme-spaced", "  LA-1 ")  # duplicate once trimmed, as the sync keys it
    company("globex", "LA-2")
    company("globex-lower", "la-2")  # NOT a duplicate: only emails compare case-insensitively
    company("no-ref", None)  # missing account ID
    company("no-ref-2", "   ")  # blank counts as missing

    def contact(name: str, email: str | None, company_name: str | None) -> None:
        props = {"firstname": name} if email is None else {"firstname": name, "email": email}
        companies = [ids[company_name]] if company_name else None
        ids[name] = hubspot.create("contacts", props, company_ids=companies)["id"]

    contact("ann", "ann@example.com", "acme")
    contact("ann-upper", " ANN@Example.com", "globex")  # mixed-case duplicate email
    contact("ann-title", "Ann@example.COM  ", None)  # a third one, no company
    contact("bob", "bob@example.com", None)  # no primary company
    contact("carol", "carol@example.com", "no-ref")  # company without account ID
    contact("dave", "dave@example.com", "no-ref-2")  # company without account ID
    contact("erin", None, "acme-dup")  # missing email
    contact("frank", "frank@example.com", "globex-lower")
    return ids


def test_every_seeded_problem_is_reported_exactly(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    ids = _seed_problems(hubspot)
    settings |= {"account_id_property": "legacy_account_ref", "user_id_property": "email"}

    run = run_check(settings, *ALL)

    assert run.code == 1, run.stderr
    report = run.report
    assert report["ready"] is False
    assert report["exit_code"] == 1
    assert report["verdict"].startswith("NOT READY")
    companies_dump = hubspot.dump("companies")
    contacts_dump = hubspot.dump("contacts")

    # Companies: non-unique property, missing and duplicate values.
    companies = report["objects"]["companies"]
    expected = _expected(companies_dump, "legacy_account_ref")
    assert companies["id_property"] == {
        "setting": "account_id_property",
        "name": "legacy_account_ref",
        "exists": True,
        "type": "string",
        "has_unique_value": False,
        "uniqueness": "not_enforced",
    }
    assert companies["records"]["total"] == expected["total"] == 7
    assert companies["records"]["missing_id"] == len(expected["missing"]) == 2
    assert companies["records"]["missing_sample"] == expected["missing"]
    assert companies["records"]["with_id"] == 5
    assert _reported_duplicates(companies) == expected["duplicates"]
    assert expected["duplicates"] == {"LA-1": [ids["acme"], ids["acme-dup"], ids["acme-spaced"]]}
    assert companies["duplicates"]["values"] == 1
    assert companies["duplicates"]["records"] == 3
    assert companies["duplicates"]["groups"][0]["raw_values"] == ["LA-1", "LA-1", "  LA-1 "]

    # Contacts: email compared case-insensitively, missing emails, links to accounts.
    contacts = report["objects"]["contacts"]
    expected = _expected(contacts_dump, "email", email=True)
    assert contacts["id_property"]["uniqueness"] == "email"
    assert contacts["records"]["total"] == expected["total"] == 8
    assert contacts["records"]["missing_sample"] == expected["missing"] == [ids["erin"]]
    assert _reported_duplicates(contacts) == expected["duplicates"]
    assert expected["duplicates"] == {
        "ann@example.com": [ids["ann"], ids["ann-upper"], ids["ann-title"]]
    }
    by_contact = {r["id"]: r for r in contacts_dump}
    account_of = {
        r["id"]: _key(r["properties"].get("legacy_account_ref"), email=False)
        for r in companies_dump
    }
    no_company = [
        i
        for i, r in sorted(by_contact.items(), key=lambda kv: int(kv[0]))
        if r["primary_company_id"] is None
    ]
    unlinked = [
        i
        for i, r in sorted(by_contact.items(), key=lambda kv: int(kv[0]))
        if r["primary_company_id"] is not None and account_of[r["primary_company_id"]] is None
    ]
    links = contacts["links"]
    assert links["without_company"] == len(no_company) == 2
    assert links["without_company_sample"] == no_company == [ids["ann-title"], ids["bob"]]
    assert links["company_without_account_id"] == len(unlinked) == 2
    assert links["company_without_account_id_sample"] == unlinked == [ids["carol"], ids["dave"]]
    assert set(links["companies_without_account_id_sample"]) == {ids["no-ref"], ids["no-ref-2"]}

    assert _codes(report) == {
        ("companies", "id_property_not_unique", "warning"),
        ("companies", "missing_ids", "error"),
        ("companies", "duplicate_ids", "error"),
        ("contacts", "missing_ids", "error"),
        ("contacts", "duplicate_ids", "error"),
        ("contacts", "contacts_without_company", "warning"),
        ("contacts", "company_without_account_id", "warning"),
    }
    counts = {(p["object"], p["code"]): p["count"] for p in report["problems"]}
    assert counts[("companies", "missing_ids")] == 2
    assert counts[("contacts", "duplicate_ids")] == 1
    assert all(p["fix"] for p in report["problems"])


def test_text_report_names_each_problem_its_fix_and_ends_with_the_verdict(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    ids = _seed_problems(hubspot)
    settings |= {"account_id_property": "legacy_account_ref", "user_id_property": "email"}

    run = run_check(settings, "--quiet")

    assert run.code == 1
    lines = run.stdout.strip().splitlines()
    assert lines[-1].startswith("NOT READY: 4 errors, 3 warnings")
    text = run.stdout
    assert "NOT unique in HubSpot (hasUniqueValue false)" in text
    assert f"'LA-1' x3: {ids['acme']}, {ids['acme-dup']}, {ids['acme-spaced']} ('  LA-1 ')" in text
    assert (
        f"'ann@example.com' x3: {ids['ann']}, {ids['ann-upper']} (' ANN@Example.com'), "
        f"{ids['ann-title']} ('Ann@example.COM  ')" in text
    )
    assert "2 companies of 7 have no legacy_account_ref" in text
    assert text.count("fix: ") == 7


def test_seeded_legacy_duplicates_match_the_dump(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    hubspot.seed(companies=40, contacts=500, seed=7, duplicate_share=0.3, id_share=0.8)
    settings |= {"account_id_property": "legacy_account_ref", "user_id_property": "legacy_user_ref"}

    report = run_check(settings, *ALL).report

    for object_type, prop in (("companies", "legacy_account_ref"), ("contacts", "legacy_user_ref")):
        expected = _expected(hubspot.dump(object_type), prop)
        section = report["objects"][object_type]
        assert section["records"]["total"] == expected["total"]
        assert section["records"]["missing_sample"] == expected["missing"]
        assert _reported_duplicates(section) == expected["duplicates"]
        assert section["duplicates"]["values"] == len(expected["duplicates"]) > 0
        assert section["duplicates"]["records"] == sum(
            len(v) for v in expected["duplicates"].values()
        )


def test_a_clean_portal_is_ready(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    companies = [
        hubspot.create("companies", {"name": f"c{i}", "gather_account_id": f"A-{i}"})["id"]
        for i in range(3)
    ]
    for i in range(6):
        hubspot.create(
            "contacts",
            {"email": f"u{i}@example.com", "gather_user_id": f"U-{i}"},
            company_ids=[companies[i % 3]],
        )
    settings |= {"account_id_property": "gather_account_id", "user_id_property": "gather_user_id"}

    run = run_check(settings, "--format", "json", "--quiet")

    assert run.code == 0, run.stdout
    report = run.report
    assert report["ready"] is True
    assert report["problems"] == []
    assert report["verdict"] == "READY: every record has a unique ID (companies: 3, contacts: 6)."
    for section in report["objects"].values():
        assert section["id_property"]["uniqueness"] == "enforced"
        assert section["duplicates"] == {"values": 0, "records": 0, "groups": []}
        assert section["records"]["missing_id"] == 0
    assert report["objects"]["contacts"]["links"]["without_company"] == 0
    assert report["objects"]["contacts"]["links"]["company_without_account_id"] == 0


def test_a_non_unique_property_without_duplicates_warns_and_fails_only_when_strict(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    company = hubspot.create("companies", {"legacy_account_ref": "LA-1"})["id"]
    hubspot.create("contacts", {"legacy_user_ref": "LU-1"}, company_ids=[company])
    settings |= {"account_id_property": "legacy_account_ref", "user_id_property": "legacy_user_ref"}

    relaxed = run_check(settings, "--format", "json", "--quiet")
    strict = run_check(settings, "--format", "json", "--quiet", "--strict")

    assert relaxed.code == 0
    assert _codes(relaxed.report) == {
        ("companies", "id_property_not_unique", "warning"),
        ("contacts", "id_property_not_unique", "warning"),
    }
    assert relaxed.report["verdict"].startswith("READY")
    assert "2 warnings" in relaxed.report["verdict"]
    assert strict.code == 1
    assert strict.report["verdict"].startswith("NOT READY: 0 errors, 2 warnings (--strict")


def test_hubspot_ids_are_trivially_unique_and_companies_are_not_scanned(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    hubspot.seed(companies=12, contacts=80, seed=3)
    hubspot.reset_stats()
    settings |= {"account_id_property": "companyId", "user_id_property": "vid"}

    run = run_check(settings, "--format", "json", "--quiet")

    report = run.report
    companies, contacts = report["objects"]["companies"], report["objects"]["contacts"]
    assert companies["duplicates"] is None
    assert "unique by construction" in companies["duplicates_note"]
    assert contacts["duplicates"] is None
    assert "unique by construction" in contacts["duplicates_note"]
    assert companies["records"] == {
        "total": 12,
        "with_id": 12,
        "missing_id": 0,
        "missing_sample": [],
        "scanned": False,
    }
    assert contacts["records"]["total"] == contacts["records"]["with_id"] == 80
    assert companies["id_property"]["uniqueness"] == "hubspot_id"
    no_company = sum(1 for r in hubspot.dump("contacts") if r["primary_company_id"] is None)
    assert contacts["links"]["without_company"] == no_company
    assert contacts["links"]["company_without_account_id"] == 0
    routes = hubspot.stats()["routes"]
    # One list page: the 80 contacts, after one probe read per object (the credential check).
    # Companies were counted by one search, never listed.
    assert routes["GET /crm/objects/{version}/{object_type}"]["total"] == 2 + 1, routes
    assert routes["POST /crm/objects/{version}/{object_type}/search"]["total"] == 2, routes
    assert not {p["code"] for p in report["problems"]} & {"missing_ids", "duplicate_ids"}


def test_a_missing_id_property_is_an_error_with_the_setting_to_fix(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    company = hubspot.create("companies", {"name": "x"})["id"]
    hubspot.create("contacts", {"email": "a@example.com"}, company_ids=[company])
    settings |= {"account_id_property": "gather_acount_id", "user_id_property": "email"}

    run = run_check(settings, "--format", "json", "--quiet")

    assert run.code == 1
    report = run.report
    companies = report["objects"]["companies"]
    assert companies["id_property"]["exists"] is False
    assert companies["id_property"]["uniqueness"] == "unknown"
    assert companies["duplicates"] is None
    problem = next(p for p in report["problems"] if p["code"] == "id_property_missing")
    assert problem["object"] == "companies"
    assert "gather_acount_id" in problem["message"]
    assert "account_id_property" in problem["fix"]
    assert "companyId" in problem["fix"]
    # Contacts are still checked; their account links cannot be.
    assert report["objects"]["contacts"]["records"]["total"] == 1
    assert report["objects"]["contacts"]["links"]["company_without_account_id"] is None


def test_an_enumeration_id_property_gets_a_type_warning_and_its_shared_values(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    for stage in ("lead", "lead", "customer"):
        hubspot.create("contacts", {"lifecyclestage": stage})
    hubspot.create("companies", {"numberofemployees": "12"})
    settings |= {"account_id_property": "numberofemployees", "user_id_property": "lifecyclestage"}

    report = run_check(settings, *ALL).report

    contacts = report["objects"]["contacts"]
    assert contacts["id_property"]["type"] == "enumeration"
    assert [(g["value"], g["count"]) for g in contacts["duplicates"]["groups"]] == [("lead", 2)]
    assert ("contacts", "id_property_type", "warning") in _codes(report)
    # A number property is a fine ID type: no type warning for companies.
    assert report["objects"]["companies"]["id_property"]["type"] == "number"
    assert ("companies", "id_property_type", "warning") not in _codes(report)
