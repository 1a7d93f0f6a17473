"""The date-versioned CRM paths (2026-03, 2026-09) serve the same data and shapes as v3/v4,
2026-09 ends its lists with an empty `paging`, unknown versions are refused, records can
carry `warnings`, and the account details tell the portal's identity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulators.hubspot.pytest_plugin import AdminCallError, HubSpotEmulator
from emulators.hubspot.versions import DATE_VERSIONS
from tests.emulators.hubspot.conftest import Api, refresh_form

TIMEOUT_S = 10


def _strip_volatile(body: Any) -> Any:
    """A response body without what differs between two calls (links, batch timings)."""
    if isinstance(body, dict):
        return {
            k: _strip_volatile(v)
            for k, v in body.items()
            if k not in ("link", "startedAt", "completedAt", "correlationId")
        }
    if isinstance(body, list):
        return [_strip_volatile(v) for v in body]
    return body


def _same(legacy: requests.Response, dated: requests.Response) -> None:
    assert dated.status_code == legacy.status_code, dated.text
    assert _strip_volatile(dated.json()) == _strip_volatile(legacy.json())


@pytest.mark.parametrize("version", DATE_VERSIONS)
def test_every_crm_read_answers_as_v3_and_v4_from_the_same_data(
    emulator: HubSpotEmulator, api: Api, version: str
) -> None:
    emulator.seed(companies=4, contacts=12)
    contact = emulator.dump("contacts")[0]["id"]
    company = emulator.dump("companies")[0]["id"]
    pairs = (("contacts", contact, "companies"), ("companies", company, "contacts"))
    for kind, one, other in pairs:
        v3, dated = f"/crm/v3/objects/{kind}", f"/crm/objects/{version}/{kind}"
        params = {"limit": "3", "properties": "email,name", "associations": other}
        first = api.get(v3, **params)
        assert "next" in first.json()["paging"]
        _same(first, api.get(dated, **params))
        _same(api.get(f"{v3}/{one}"), api.get(f"{dated}/{one}"))
        _same(api.get(f"{v3}/987654"), api.get(f"{dated}/987654"))
        batch = {"inputs": [{"id": one}, {"id": "987654"}], "properties": ["email"]}
        _same(api.post(f"{v3}/batch/read", batch), api.post(f"{dated}/batch/read", batch))
        query = {"limit": 3, "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]}
        _same(api.post(f"{v3}/search", query), api.post(f"{dated}/search", query))
        _same(api.get(f"/crm/v3/properties/{kind}"), api.get(f"/crm/properties/{version}/{kind}"))
        _same(
            api.get(f"/crm/v3/properties/{kind}/createdate"),
            api.get(f"/crm/properties/{version}/{kind}/createdate"),
        )
        inputs = {"inputs": [{"id": one}, {"id": "987654"}]}
        _same(
            api.post(f"/crm/v4/associations/{kind}/{other}/batch/read", inputs),
            api.post(f"/crm/associations/{version}/{kind}/{other}/batch/read", inputs),
        )


@pytest.mark.parametrize("version", DATE_VERSIONS)
def test_merge_and_gdpr_delete_work_on_the_dated_paths(
    emulator: HubSpotEmulator, api: Api, version: str
) -> None:
    emulator.seed(companies=1, contacts=3)
    ids = [r["id"] for r in emulator.dump("contacts")]
    base = f"/crm/objects/{version}/contacts"
    merged = api.post(f"{base}/merge", {"primaryObjectId": ids[0], "objectIdToMerge": ids[1]})
    assert merged.status_code == 200, merged.text
    assert api.get(f"{base}/{ids[1]}").json()["id"] == merged.json()["id"]
    assert api.post(f"{base}/gdpr-delete", {"objectId": ids[2]}).status_code == 204
    assert api.get(f"{base}/{ids[2]}").status_code == 404


def _all_pages(api: Api, path: str) -> list[dict[str, Any]]:
    pages, after = [], None
    while True:
        params = {"limit": "4"} | ({"after": after} if after else {})
        body = api.get(path, **params).json()
        pages.append(body)
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            return pages


def test_2026_09_ends_a_list_with_an_empty_paging_2026_03_and_v3_omit_it(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.seed(companies=1, contacts=10)
    for path, last in (
        ("/crm/objects/2026-09/contacts", {"paging": {}}),
        ("/crm/objects/2026-03/contacts", {}),
        ("/crm/v3/objects/contacts", {}),
    ):
        pages = _all_pages(api, path)
        assert len(pages) == 3
        assert all("next" in p["paging"] for p in pages[:-1])
        assert {k: v for k, v in pages[-1].items() if k == "paging"} == last, path
        ids = [r["id"] for p in pages for r in p["results"]]
        assert len(ids) == 10 == len(set(ids))


def test_2026_09_ends_a_search_with_an_empty_paging(emulator: HubSpotEmulator, api: Api) -> None:
    emulator.seed(companies=1, contacts=3)
    dated = api.post("/crm/objects/2026-09/contacts/search", {"limit": 10}).json()
    assert dated["paging"] == {}
    assert len(dated["results"]) == 3
    assert "paging" not in api.post("/crm/objects/2026-03/contacts/search", {"limit": 10}).json()


@pytest.mark.parametrize(
    "path",
    [
        "/crm/objects/2025-09/contacts",
        "/crm/objects/v3/contacts",
        "/crm/objects/2027-03-beta/contacts/1",
        "/crm/properties/2026-04/contacts",
    ],
)
def test_an_unknown_version_is_a_404_naming_the_served_versions(api: Api, path: str) -> None:
    answer = api.get(path)
    assert answer.status_code == 404
    body = answer.json()
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert "2026-03, 2026-09" in body["message"]
    assert body["correlationId"]


def test_the_warnings_switch_adds_warnings_to_every_record(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.seed(companies=1, contacts=2)
    one = emulator.dump("contacts")[0]["id"]
    base = "/crm/objects/2026-09/contacts"
    assert all("warnings" not in r for r in api.get(base).json()["results"])
    emulator.set_config(record_warnings=True)
    records = [
        *api.get(base).json()["results"],
        api.get(f"{base}/{one}").json(),
        *api.post(f"{base}/batch/read", {"inputs": [{"id": one}]}).json()["results"],
        *api.post(f"{base}/search", {}).json()["results"],
        *api.get("/crm/v3/objects/contacts").json()["results"],
    ]
    for record in records:
        (warning,) = record["warnings"]
        assert set(warning) == {"category", "message", "context"}
        assert warning["context"] == {"objectId": record["id"]}


@pytest.mark.parametrize("version", ["v3", "2026-03", "2026-09"])
def test_account_details_tell_the_portal(emulator: HubSpotEmulator, api: Api, version: str) -> None:
    answer = api.get(f"/account-info/{version}/details")
    assert answer.status_code == 200, answer.text
    details = answer.json()
    assert details["portalId"] == emulator.hub_id
    assert details["accountType"] == "STANDARD"
    assert details["uiDomain"] == "app.hubspot.com"
    assert details["companyCurrency"] == "USD"
    assert details["timeZone"] == "US/Eastern"
    assert details["utcOffset"] in ("-05:00", "-04:00")
    assert details["utcOffsetMilliseconds"] in (-5 * 3_600_000, -4 * 3_600_000)
    unauthenticated = requests.get(
        emulator.url + f"/account-info/{version}/details", timeout=TIMEOUT_S
    )
    assert unauthenticated.status_code == 401


def _token(emulator: HubSpotEmulator) -> dict[str, Any]:
    form = refresh_form(emulator)
    answer = requests.post(emulator.url + "/oauth/v1/token", data=form, timeout=TIMEOUT_S)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_two_portals_run_side_by_side_with_their_own_hub_ids_and_colliding_record_ids(
    hubspot_emulator_factory: Callable[..., HubSpotEmulator],
) -> None:
    first = hubspot_emulator_factory(hub_id=111_111)
    second = hubspot_emulator_factory(hub_id=222_222)
    for portal, hub_id in ((first, 111_111), (second, 222_222)):
        portal.seed(companies=2, contacts=3, seed=7)
        assert portal.hub_id == hub_id
        details = requests.get(
            portal.url + "/account-info/2026-09/details",
            headers=portal.auth_headers,
            timeout=TIMEOUT_S,
        ).json()
        assert details["portalId"] == hub_id
        assert _token(portal)["hub_id"] == hub_id
        page = requests.get(
            portal.url + "/oauth/authorize",
            params={
                "client_id": portal.oauth_client.client_id,
                "redirect_uri": "http://localhost:1/cb",
                "scope": "crm.objects.contacts.read",
            },
            timeout=TIMEOUT_S,
        )
        assert f'<span id="hub-id">{hub_id}</span>' in page.text
        assert f"emulator-portal-{hub_id}.hubspot.com" in page.text
    assert [r["id"] for r in first.dump("contacts")] == [r["id"] for r in second.dump("contacts")]
    first.update("contacts", first.dump("contacts")[0]["id"], {"firstname": "Only-first"})
    second_names = [r["properties"].get("firstname") for r in second.dump("contacts")]
    assert "Only-first" not in second_names


@pytest.mark.hubspot_emulator(hub_id=99_000_001)
def test_the_marker_sets_the_fixture_emulators_hub_id(hubspot_emulator: HubSpotEmulator) -> None:
    assert hubspot_emulator.hub_id == 99_000_001
    assert _token(hubspot_emulator)["hub_id"] == 99_000_001


def test_the_cli_takes_a_hub_id_and_refuses_a_bad_one(
    hubspot_emulator_process: Callable[..., Any],
) -> None:
    process = hubspot_emulator_process("--hub-id", "123456")
    assert process.hub_id == 123456
    with pytest.raises(RuntimeError, match="hub id must be between 1 and 2147483647"):
        hubspot_emulator_process("--hub-id", "0")


def test_partial_batch_reads_can_answer_200_with_their_errors(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.seed(companies=1, contacts=1)
    one = emulator.dump("contacts")[0]["id"]
    inputs = {"inputs": [{"id": one}, {"id": "987654"}]}
    paths = (
        "/crm/objects/2026-09/contacts/batch/read",
        "/crm/associations/2026-09/contacts/companies/batch/read",
    )
    assert [api.post(path, inputs).status_code for path in paths] == [207, 207]
    emulator.set_config(batch_partial_status=200)
    for path in paths:
        answer = api.post(path, inputs)
        assert answer.status_code == 200
        assert answer.json()["numErrors"] >= 1
        assert answer.json()["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    with pytest.raises(AdminCallError, match="batch_partial_status must be 207 or 200"):
        emulator.set_config(batch_partial_status=201)
