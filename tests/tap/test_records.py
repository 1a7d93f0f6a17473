"""What the tap emits: keys for every ID option, typed values, links, skipped records."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from hubspot_gather_common.ids import normalize_id
from tap_hubspot_gather.accounts import AccountIndex
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.errors import HubSpotError, MissingIdError
from tests.tap.harness import discover, run_tap, select_only


def props(dumped: dict[str, Any]) -> dict[str, Any]:
    return dumped["properties"]


@pytest.mark.parametrize("user_id", ["gather_user_id", "vid", "email"])
@pytest.mark.parametrize("account_id", ["gather_account_id", "companyId"])
def test_every_id_option_keys_records_and_links_users_to_accounts(
    hubspot: HubSpotEmulator, config: dict[str, Any], user_id: str, account_id: str
) -> None:
    hubspot.seed(companies=12, contacts=60, id_share=0.8, missing_email_share=0.2)
    companies = {c["id"]: c for c in hubspot.dump("companies")}
    contacts = {c["id"]: c for c in hubspot.dump("contacts")}

    run = run_tap({**config, "user_id_property": user_id, "account_id_property": account_id})

    assert run.schemas["companies"]["key_properties"] == [account_id]
    assert run.schemas["contacts"]["key_properties"] == [user_id]

    def expected_key(dumped: dict[str, Any], prop: str, builtin: str) -> str | None:
        if prop == builtin:
            return str(dumped["id"])
        return normalize_id(props(dumped).get(prop), lower=prop == "email")

    expected_accounts = {i: expected_key(c, account_id, "companyId") for i, c in companies.items()}
    expected_users = {i: expected_key(c, user_id, "vid") for i, c in contacts.items()}
    emitted_companies = {r["id"]: r for r in run.records["companies"]}
    emitted_contacts = {r["id"]: r for r in run.records["contacts"]}
    # Every record with an ID is emitted, keyed by the normalized value; one without an ID
    # only on `<stream>_without_id` (no RECORD ever has a null key property).
    without = {r["id"] for r in run.records["contacts_without_id"]}
    assert set(emitted_contacts) == {h for h, k in expected_users.items() if k is not None}
    assert without == {h for h, k in expected_users.items() if k is None}
    assert set(emitted_companies) == {h for h, k in expected_accounts.items() if k is not None}
    assert bool(without) is (user_id != "vid")
    portal = str(hubspot.hub_id)
    for line in run.lines:
        if line["type"] == "RECORD":
            assert line["record"]["portal_id"] == portal
            for key_property in run.schemas[line["stream"]]["key_properties"]:
                assert line["record"][key_property] is not None
    for hid, record in emitted_companies.items():
        assert record[account_id] == expected_accounts[hid]
        assert record["companyId"] == hid
    for hid, record in emitted_contacts.items():
        key = record[user_id]
        assert isinstance(key, str)
        assert key == expected_users[hid]
        assert key == key.strip()
        if user_id == "email":
            assert key == key.lower()
        assert record["vid"] == hid
        company = contacts[hid].get("primary_company_id") or props(contacts[hid]).get(
            "associatedcompanyid"
        )
        company = normalize_id(company)
        assert record["primary_company_id"] == company
        expected_account = expected_accounts.get(company) if company else None
        assert record["primary_company_account_id"] == expected_account


def test_contacts_link_to_accounts_with_one_listing_of_company_ids_when_companies_are_not_synced(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=150, contacts=400)
    companies = {c["id"]: props(c).get("gather_account_id") for c in hubspot.dump("companies")}
    settings = {**config, "account_id_property": "gather_account_id"}
    catalog = select_only(discover(settings), {"contacts": {"email"}})
    hubspot.reset_stats()

    run = run_tap(settings, catalog=catalog)

    linked = [r for r in run.records["contacts"] if r["primary_company_id"]]
    assert linked
    for record in linked:
        assert record["primary_company_account_id"] == normalize_id(
            companies[record["primary_company_id"]]
        )
    routes = hubspot.stats()["routes"]
    # Reading every contact: every company's account ID is listed first (that one property,
    # 100 companies per request), then no per-page lookups.
    assert "POST /crm/objects/{version}/{object_type}/batch/read" not in routes
    lists = routes["GET /crm/objects/{version}/{object_type}"]["total"]
    assert lists == -(-150 // 100) + -(-400 // 100)


def test_an_incremental_run_looks_up_only_the_companies_its_contacts_name(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=150, contacts=400)
    settings = {**config, "account_id_property": "gather_account_id"}
    catalog = select_only(discover(settings), {"contacts": {"email"}})
    first = run_tap(settings, catalog=catalog)
    changed = [c["id"] for c in hubspot.dump("contacts") if c["primary_company_id"]][:3]
    for contact_id in changed:
        hubspot.update("contacts", contact_id, {"city": "Lyon"})
    hubspot.reset_stats()

    run = run_tap(settings, catalog=catalog, state=first.last_state)

    assert sorted(run.ids("contacts")) == sorted(changed)
    routes = hubspot.stats()["routes"]
    batch = "POST /crm/objects/{version}/{object_type}/batch/read"
    assert routes[batch]["total"] == 1  # 3 companies


def test_values_are_typed_junk_is_null_and_epoch_dates_become_iso(
    hubspot: HubSpotEmulator, config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    hubspot.set_config(epoch_ms_date_share=1.0, epoch_ms_date_types=["date", "datetime"])
    hubspot.seed(companies=40, contacts=10, junk_number_share=0.5)
    dumped = {c["id"]: props(c) for c in hubspot.dump("companies")}
    with caplog.at_level(logging.WARNING):
        run = run_tap(config)
    schema = run.schemas["companies"]["schema"]["properties"]
    assert schema["numberofemployees"]["type"] == ["number", "null"]
    assert schema["contract_start_date"]["format"] == "date"
    assert schema["createdate"]["format"] == "date-time"
    junk = 0
    for record in run.records["companies"]:
        raw = dumped[record["id"]].get("numberofemployees")
        if raw is None:
            continue
        try:
            assert record["numberofemployees"] == float(raw)
        except ValueError:
            junk += 1
            assert record["numberofemployees"] is None
        date = record.get("contract_start_date")
        assert date is None or (len(date) == 10 and date[4] == "-")
        assert record["createdate"].endswith("Z")
        assert record["createdate"][4] == "-"
    assert junk > 0
    assert f"numberofemployees x{junk}" in caplog.text


def test_records_without_an_id_go_to_their_own_stream_and_are_reported_with_sample_ids(
    hubspot: HubSpotEmulator, config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    hubspot.seed(companies=5, contacts=80, id_share=0.75)
    missing = [c["id"] for c in hubspot.dump("contacts") if not props(c).get("gather_user_id")]
    assert missing
    with caplog.at_level(logging.WARNING):
        run = run_tap({**config, "user_id_property": "gather_user_id"})
    assert len(run.records["contacts"]) == 80 - len(missing)
    assert all(r["gather_user_id"] for r in run.records["contacts"])
    side = run.schemas["contacts_without_id"]
    assert side["key_properties"] == ["portal_id", "id"]
    assert next(s for s in run.lines if s.get("stream") == "contacts_without_id")["type"] == (
        "SCHEMA"
    )
    portal = str(hubspot.hub_id)
    for side_record in run.records["contacts_without_id"]:
        updated = side_record.pop("updatedAt")
        assert isinstance(updated, str)
        assert updated[4] == "-"
        assert updated.endswith("Z") or "+" in updated
        assert side_record == {
            "portal_id": portal,
            "id": side_record["id"],
            "stream": "contacts",
            "id_property": "gather_user_id",
            "archived": False,
        }
    assert {r["id"] for r in run.records["contacts_without_id"]} == set(missing)
    assert f"contacts: {len(missing)} records skipped because" in caplog.text
    assert "sent only on stream contacts_without_id" in caplog.text
    assert ", ".join(missing[:10]) in caplog.text


def test_fail_on_missing_id_stops_with_an_actionable_message(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=5, contacts=30, id_share=0.5)
    with pytest.raises(
        MissingIdError, match=r"has no value in 'gather_user_id'.*fail_on_missing_id"
    ):
        run_tap({**config, "user_id_property": "gather_user_id", "fail_on_missing_id": True})


def test_only_selected_properties_are_requested_and_emitted(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=5, contacts=20)
    settings = {**config, "user_id_property": "email"}
    catalog = select_only(discover(settings), {"contacts": {"firstname", "city"}})
    run = run_tap(settings, catalog=catalog)
    assert "companies" not in run.records
    record = run.records["contacts"][0]
    assert {"firstname", "city", "email", "vid", "id", "primary_company_account_id"} <= set(record)
    assert "lastname" not in record
    assert "jobtitle" not in record


def test_unknown_id_property_fails_discovery_with_a_fix(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    with pytest.raises(
        HubSpotError, match=r"user_id_property is 'no_such_prop'.*Set user_id_property"
    ):
        discover({**config, "user_id_property": "no_such_prop"})


def test_records_hold_only_selected_and_automatic_fields(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=20, contacts=60)
    settings = {**config, "account_id_property": "gather_account_id"}
    catalog = select_only(discover(settings), {"contacts": {"email"}, "companies": {"name"}})
    automatic = {
        stream["tap_stream_id"]: {
            md["breadcrumb"][-1]
            for md in stream["metadata"]
            if md["breadcrumb"] and md["metadata"].get("inclusion") == "automatic"
        }
        for stream in catalog["streams"]
    }

    run = run_tap(settings, catalog=catalog)

    for stream, chosen in (("contacts", {"email"}), ("companies", {"name"})):
        assert run.records[stream]
        allowed = chosen | automatic[stream]
        for record in run.records[stream]:
            assert set(record) <= allowed, set(record) - allowed
    # The tap reads these for its own use (links, windows) but they were not selected.
    assert "associatedcompanyid" not in automatic["contacts"]
    assert all("associatedcompanyid" not in r for r in run.records["contacts"])


@pytest.mark.parametrize("partial_status", [207, 200])
def test_a_batch_read_with_partial_errors_is_read_as_200_or_207(
    hubspot: HubSpotEmulator, config: dict[str, Any], partial_status: int
) -> None:
    """HubSpot documents partial batch answers as 207 and, on newer pages, as a 200 carrying
    `errors[]`: the account lookup keeps the companies found either way."""
    hubspot.set_config(batch_partial_status=partial_status)
    hubspot.seed(companies=3, contacts=0, id_share=1.0)
    companies = hubspot.dump("companies")
    assert all(props(c).get("gather_account_id") for c in companies)
    index = AccountIndex(HubSpotClient.from_config(config), "gather_account_id")

    index.resolve([c["id"] for c in companies] + ["987654321"])

    batch = hubspot.stats()["routes"]["POST /crm/objects/{version}/{object_type}/batch/read"]
    assert batch["by_status"] == {str(partial_status): 1}
    for company in companies:
        expected = normalize_id(props(company).get("gather_account_id"))
        assert index.account_id(company["id"]) == expected
    assert index.account_id("987654321") is None
