"""Objects are data: a third declared object is checked (scan, report, JSON and text) from
its declaration alone, and the declared objects' sections do not change because of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.check.render import report_json_schema
from tap_hubspot_gather.objects import CrmObject, register, unregister
from tests.check.conftest import CheckRun
from tests.check.test_findings import ALL, _expected, _reported_duplicates
from tests.tap.test_objects import DEALS


@pytest.fixture
def deals() -> Iterator[CrmObject]:
    """The test-only deals declaration, registered for one test."""
    register(DEALS)
    yield DEALS
    unregister(DEALS.stream_name)


IDS = {"account_id_property": "legacy_account_ref", "user_id_property": "email"}


def test_a_declared_third_object_is_scanned_and_reported(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
    request: pytest.FixtureRequest,
) -> None:
    hubspot.seed(companies=8, contacts=20, deals=40, seed=7, duplicate_share=0.4)
    archived = hubspot.dump("deals")[0]["id"]
    hubspot.archive("deals", archived)
    settings |= IDS
    before = run_check(settings, *ALL).report  # companies and contacts only
    request.getfixturevalue("deals")

    run = run_check({**settings, "deal_id_property": "legacy_deal_ref"}, *ALL)

    report = run.report
    jsonschema.validate(report, report_json_schema())
    assert list(report["objects"]) == ["companies", "contacts", "deals"]
    for name in ("companies", "contacts"):
        assert report["objects"][name] == before["objects"][name]
    deals = report["objects"]["deals"]
    assert deals["gather_model"] == "deal"
    assert deals["id_property"] == {
        "setting": "deal_id_property",
        "name": "legacy_deal_ref",
        "exists": True,
        "type": "string",
        "has_unique_value": False,
        "uniqueness": "not_enforced",
    }
    expected = _expected(hubspot.dump("deals"), "legacy_deal_ref")
    assert deals["records"]["total"] == expected["total"] == 39
    assert deals["records"]["missing_sample"] == expected["missing"]
    assert deals["records"]["missing_id"] == len(expected["missing"]) > 0
    assert _reported_duplicates(deals) == expected["duplicates"] != {}
    assert deals["links"] is None  # deals do not link to accounts
    problems = {(p["object"], p["code"]) for p in report["problems"]}
    assert {("deals", "missing_ids"), ("deals", "duplicate_ids")} <= problems
    assert [p for p in report["problems"] if p["object"] != "deals"] == before["problems"]
    cases = {(c["object"], c["code"]) for c in report["identity_cases"]}
    assert ("deals", "archived") in cases
    assert run.code == 1
    assert "deals missing ids; deals duplicate ids" in report["verdict"]

    text = run_check({**settings, "deal_id_property": "legacy_deal_ref"}, "--quiet").stdout
    assert "Deals -> Gather deals, ID property deal_id_property = legacy_deal_ref\n" in text
    assert f"  records: 39 scanned; {39 - len(expected['missing'])} have an ID" in text
    assert "  archived: 1 records; " in text
    assert f"[error] deals: {len(expected['missing'])} deals of 39 have no legacy_deal_ref" in text


def test_a_third_object_keyed_by_its_own_id_is_counted_and_suggested(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
    deals: CrmObject,
) -> None:
    hubspot.seed(companies=3, contacts=5, deals=25, seed=3, id_share=0.8)
    settings |= {"account_id_property": "companyId", "user_id_property": "vid"}

    run = run_check(settings, "--format", "json", "--quiet", "--suggest")

    report = run.report
    jsonschema.validate(report, report_json_schema())
    assert run.code == 0, report["verdict"]
    section = report["objects"]["deals"]
    assert section["id_property"]["name"] == "hs_object_id"
    assert section["id_property"]["uniqueness"] == "hubspot_id"
    assert section["records"]["total"] == 25
    assert section["duplicates_note"] == (
        "hs_object_id is HubSpot's own deal id: unique by construction"
    )
    suggestion = report["suggestions"]["deals"]
    assert suggestion["setting"] == "deal_id_property"
    assert suggestion["recommended"] == "gather_deal_id"
    names = [c["name"] for c in suggestion["candidates"]]
    assert {"gather_deal_id", "hs_object_id"} <= set(names)
    builtin = next(c for c in suggestion["candidates"] if c["name"] == "hs_object_id")
    assert builtin["reason"] == "hs_object_id: HubSpot's own deal id, always filled and unique"

    text = run_check(settings, "--quiet", "--suggest").stdout
    assert "  Deals (deal_id_property):\n" in text
    assert "    recommended: deal_id_property = gather_deal_id\n" in text
    assert "READY: every record has a unique ID (companies: 3, contacts: 5, deals: 25)" in text


def test_the_published_schema_names_only_the_declared_objects(deals: CrmObject) -> None:
    schema = report_json_schema()
    assert schema["properties"]["objects"]["required"] == ["companies", "contacts", "deals"]
    unregister(deals.stream_name)
    schema = report_json_schema()
    assert schema["properties"]["objects"]["required"] == ["companies", "contacts"]
    assert "deal_id_property" not in str(schema)
