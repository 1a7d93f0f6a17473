"""Search: filter semantics, one sort, offset paging, the 10,000-result cap, keyset paging,
archived exclusion and index lag
(https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm).
Expectations are computed from the admin dump, independently of the emulator's search code."""

from __future__ import annotations

import time

import pytest

from emulators.hubspot.pytest_plugin import AdminCallError, HubSpotEmulator
from emulators.hubspot.timeutil import parse_ms
from tests.emulators.hubspot.conftest import Api


def _group(*filters: dict) -> dict:
    return {"filters": list(filters)}


def _f(name: str, operator: str, value: object = None, **extra: object) -> dict:
    data: dict = {"propertyName": name, "operator": operator, **extra}
    if value is not None:
        data["value"] = value
    return data


@pytest.fixture
def seeded(emulator: HubSpotEmulator) -> list[dict]:
    emulator.seed(companies=10, contacts=300, seed=3)
    return emulator.dump("contacts")


def test_keyset_paging_by_hs_object_id_uses_numeric_comparison(
    emulator: HubSpotEmulator, api: Api, seeded: list[dict]
) -> None:
    ids = [int(r["id"]) for r in seeded]
    assert ids[-1] >= 100  # ids cross digit boundaries, where string comparison would differ
    last, seen = 0, []
    while True:
        body = {
            "filterGroups": [_group(_f("hs_object_id", "GT", str(last)))],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "limit": 200,
            "properties": ["email"],
        }
        data = api.search("contacts", body).json()
        page = [int(r["id"]) for r in data["results"]]
        assert data["total"] == len([i for i in ids if i > last])
        if not page:
            break
        seen += page
        last = page[-1]
    assert seen == ids


def test_and_within_groups_or_across_groups(api: Api, seeded: list[dict]) -> None:
    def has(r: dict, name: str, value: str) -> bool:
        return (r["properties"].get(name) or "").lower() == value.lower()

    expected = sorted(
        (
            r["id"]
            for r in seeded
            if (has(r, "country", "germany") and has(r, "lifecyclestage", "lead"))
            or has(r, "city", "tokyo")
        ),
        key=int,
    )
    body = {
        "filterGroups": [
            _group(_f("country", "EQ", "GERMANY"), _f("lifecyclestage", "EQ", "lead")),
            _group(_f("city", "EQ", "tokyo")),
        ],
        "limit": 50,
    }
    assert api.search_all_ids("contacts", body) == expected
    assert api.search("contacts", body).json()["total"] == len(expected)


@pytest.mark.parametrize(
    ("operator", "extra", "predicate"),
    [
        ("LT", {"value": "1700000000000"}, lambda ms: ms < 1_700_000_000_000),
        ("LTE", {"value": "1700000000000"}, lambda ms: ms <= 1_700_000_000_000),
        ("GT", {"value": "1700000000000"}, lambda ms: ms > 1_700_000_000_000),
        ("GTE", {"value": "1700000000000"}, lambda ms: ms >= 1_700_000_000_000),
        (
            "BETWEEN",
            {"value": "1690000000000", "highValue": "1710000000000"},
            lambda ms: 1_690_000_000_000 <= ms <= 1_710_000_000_000,
        ),
    ],
)
def test_date_filters_take_epoch_ms(
    api: Api, seeded: list[dict], operator: str, extra: dict, predicate: object
) -> None:
    expected = [
        r["id"]
        for r in seeded
        if predicate(parse_ms(r["properties"]["lastmodifieddate"]))  # type: ignore[operator]
    ]
    body = {
        "filterGroups": [
            _group({"propertyName": "lastmodifieddate", "operator": operator, **extra})
        ],
        "limit": 200,
    }
    assert api.search_all_ids("contacts", body) == expected


def test_string_and_set_operators(api: Api, seeded: list[dict]) -> None:
    def value(r: dict, name: str) -> str | None:
        return r["properties"].get(name)

    cases = [
        (_f("city", "NEQ", "berlin"), lambda r: (value(r, "city") or "").lower() != "berlin"),
        (
            _f("city", "IN", values=["berlin", "paris"]),
            lambda r: value(r, "city") in ("Berlin", "Paris"),
        ),
        (_f("city", "NOT_IN", values=["berlin"]), lambda r: value(r, "city") != "Berlin"),
        (_f("email", "HAS_PROPERTY"), lambda r: value(r, "email") is not None),
        (_f("email", "NOT_HAS_PROPERTY"), lambda r: value(r, "email") is None),
        (
            _f("gather_user_id", "GTE", "U-000150"),
            lambda r: (value(r, "gather_user_id") or "") >= "U-000150",
        ),
        (_f("associatedcompanyid", "HAS_PROPERTY"), lambda r: r["primary_company_id"] is not None),
    ]
    for filt, predicate in cases:
        expected = [r["id"] for r in seeded if predicate(r)]
        got = api.search_all_ids("contacts", {"filterGroups": [_group(filt)], "limit": 200})
        assert got == expected, filt


def test_number_filters_compare_numerically(emulator: HubSpotEmulator, api: Api) -> None:
    for n in ("9", "10", "100", "N/A"):
        emulator.create("companies", {"name": n, "numberofemployees": n})
    body = {"filterGroups": [_group(_f("numberofemployees", "GT", "9"))], "properties": ["name"]}
    names = [r["properties"]["name"] for r in api.search("companies", body).json()["results"]]
    assert names == ["10", "100"]


def test_sort_by_a_property_descending_missing_values_last(api: Api, seeded: list[dict]) -> None:
    body = {
        "sorts": [{"propertyName": "lastname", "direction": "DESCENDING"}],
        "limit": 200,
        "properties": ["lastname"],
    }
    ids = api.search_all_ids("contacts", body)
    names = {r["id"]: r["properties"].get("lastname") for r in seeded}
    present = [names[i].lower() for i in ids if names[i] is not None]
    assert present == sorted(present, reverse=True)
    assert all(names[i] is None for i in ids[len(present) :])
    assert len(ids) == len(seeded)


def test_default_order_is_creation_and_results_have_no_associations(
    api: Api, seeded: list[dict]
) -> None:
    data = api.search("contacts", {"limit": 5}).json()
    assert [r["id"] for r in data["results"]] == [r["id"] for r in seeded[:5]]
    assert all("associations" not in r for r in data["results"])
    assert set(data["results"][0]["properties"]) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }
    assert data["paging"]["next"]["after"] == "5"
    assert data["total"] == len(seeded)


def test_paging_to_the_result_cap_answers_400(emulator: HubSpotEmulator, api: Api) -> None:
    emulator.create("contacts", {"firstname": "only"})
    capped = api.search("contacts", {"after": "10000", "limit": 1})
    assert capped.status_code == 400
    assert capped.json()["category"] == "VALIDATION_ERROR"
    assert api.search("contacts", {"after": "9999", "limit": 200}).status_code == 200
    emulator.set_config(search_cap_rule="after_plus_limit")
    assert api.search("contacts", {"after": "9999", "limit": 2}).status_code == 400
    emulator.set_config(search_result_cap=20, search_cap_rule="after")
    assert api.search("contacts", {"after": "20"}).status_code == 400


def test_total_counts_all_matches_beyond_the_cap(emulator: HubSpotEmulator, api: Api) -> None:
    emulator.seed(companies=0, contacts=10_050, custom_properties=0, id_gap_max=1)
    data = api.search("contacts", {"limit": 200, "after": "9800"}).json()
    assert data["total"] == 10_050
    assert data["paging"]["next"]["after"] == "10000"
    assert api.search("contacts", {"limit": 200, "after": "10000"}).status_code == 400


def test_short_pages_hold_at_most_the_configured_count_and_offsets_continue_after_them(
    emulator: HubSpotEmulator, api: Api, seeded: list[dict]
) -> None:
    emulator.set_config(short_search_pages=7)
    ids, after, pages = [], None, 0
    while True:
        body: dict = {"limit": 20}
        if after is not None:
            body["after"] = after
        data = api.search("contacts", body).json()
        pages += 1
        assert len(data["results"]) <= 7
        assert data["total"] == len(seeded)
        ids += [r["id"] for r in data["results"]]
        if "paging" not in data:
            break
        assert int(data["paging"]["next"]["after"]) == len(ids)  # resumes where it stopped
        after = data["paging"]["next"]["after"]
    assert ids == [r["id"] for r in seeded]
    assert pages == -(-len(seeded) // 7)


def test_short_keyset_pages_keep_a_next_cursor_while_more_matches_exist(
    emulator: HubSpotEmulator, api: Api, seeded: list[dict]
) -> None:
    emulator.set_config(short_search_pages=50)
    last, seen = "0", []
    while True:
        body = {
            "filterGroups": [_group(_f("hs_object_id", "GT", last))],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "limit": 200,
        }
        data = api.search("contacts", body).json()
        page = [r["id"] for r in data["results"]]
        assert len(page) == min(50, len(seeded) - len(seen))
        seen += page
        if len(seen) == len(seeded):
            assert "paging" not in data
            break
        assert "next" in data["paging"]
        last = page[-1]
    assert seen == [r["id"] for r in seeded]


def test_short_pages_off_by_null_and_refused_unless_a_positive_integer(
    emulator: HubSpotEmulator, api: Api, seeded: list[dict]
) -> None:
    for bad in (0, -3, "7", 2.5, True):
        with pytest.raises(AdminCallError, match="short_search_pages"):
            emulator.set_config(short_search_pages=bad)
    emulator.set_config(short_search_pages=3)
    assert len(api.search("contacts", {"limit": 10}).json()["results"]) == 3
    emulator.set_config(short_search_pages=None)
    assert len(api.search("contacts", {"limit": 10}).json()["results"]) == 10
    assert emulator.config()["short_search_pages"] is None


@pytest.mark.parametrize("new_id", [True, False], ids=["new-id-merge", "legacy-merge"])
def test_archived_and_merged_records_never_appear(
    emulator: HubSpotEmulator, api: Api, new_id: bool
) -> None:
    ids = [emulator.create("contacts", {"firstname": f"n{i}"})["id"] for i in range(4)]
    emulator.archive("contacts", ids[0])
    merged = emulator.merge("contacts", ids[1], ids[2], new_id=new_id)["id"]
    assert merged == (ids[1] if not new_id else str(int(ids[3]) + 1))
    expected = [ids[3], merged] if new_id else [ids[1], ids[3]]
    assert api.search_all_ids("contacts", {}) == expected


def test_recent_writes_are_invisible_during_the_index_lag(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.set_config(search_index_lag_s=0.5)
    emulator.create("contacts", {"firstname": "fresh"})
    assert api.search("contacts", {}).json()["total"] == 0
    time.sleep(0.6)
    assert api.search("contacts", {}).json()["total"] == 1


def test_query_and_token_search(emulator: HubSpotEmulator, api: Api) -> None:
    emulator.create("contacts", {"email": "Ann.Lee@Example.com", "firstname": "Ann"})
    emulator.create("contacts", {"email": "bob@example.org", "firstname": "Bob"})
    assert api.search("contacts", {"query": "ann"}).json()["total"] == 1
    body = {"filterGroups": [_group(_f("email", "CONTAINS_TOKEN", "*@example.org"))]}
    assert [
        r["properties"]["firstname"] for r in api.search("contacts", body).json()["results"]
    ] == ["Bob"]


@pytest.mark.parametrize(
    "body",
    [
        {"limit": 201},
        {"after": "abc"},
        {"sorts": [{"propertyName": "email"}, {"propertyName": "city"}]},
        {"filterGroups": [_group(_f("no_such", "EQ", "x"))]},
        {"filterGroups": [_group(_f("email", "LIKE", "x"))]},
        {"filterGroups": [_group(_f("lastmodifieddate", "GT", "yesterday"))]},
        {"filterGroups": [_group(_f("email", "HAS_PROPERTY")) for _ in range(6)]},
        {"filterGroups": [_group(*[_f("email", "HAS_PROPERTY")] * 7)]},
        {"filterGroups": [_group(*[_f("email", "HAS_PROPERTY")] * 6) for _ in range(4)]},
        {"query": "x" * 3001},
    ],
)
def test_invalid_searches_answer_validation_errors(api: Api, body: dict) -> None:
    response = api.search("contacts", body)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_touch_gives_many_records_one_identical_timestamp_searchable_by_keyset(
    emulator: HubSpotEmulator, api: Api
) -> None:
    emulator.seed(companies=0, contacts=250, id_gap_max=1)
    touched = emulator.touch("contacts", count=220, timestamp="2025-06-30T23:59:59.000Z")
    assert touched == 220
    stamp = str(parse_ms("2025-06-30T23:59:59.000Z"))
    body = {
        "filterGroups": [_group(_f("lastmodifieddate", "EQ", stamp))],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "limit": 200,
    }
    first = api.search("contacts", body).json()
    assert first["total"] == 220
    last_id = first["results"][-1]["id"]
    body["filterGroups"][0]["filters"].append(_f("hs_object_id", "GT", last_id))
    second = api.search("contacts", body).json()
    assert second["total"] == 20
    assert {r["updatedAt"] for r in first["results"] + second["results"]} == {
        "2025-06-30T23:59:59.000Z"
    }


def test_id_bounds_combine_with_other_sorts_and_or_groups(api: Api, seeded: list[dict]) -> None:
    ids = [int(r["id"]) for r in seeded]
    middle = ids[len(ids) // 2]
    body = {
        "filterGroups": [_group(_f("hs_object_id", "LTE", str(middle)))],
        "sorts": [{"propertyName": "hs_object_id", "direction": "DESCENDING"}],
        "limit": 200,
    }
    assert api.search_all_ids("contacts", body) == [str(i) for i in reversed(ids) if i <= middle]
    body = {
        "filterGroups": [
            _group(_f("hs_object_id", "LT", str(ids[3]))),
            _group(_f("hs_object_id", "GT", str(ids[-3]))),
        ],
        "limit": 200,
    }
    assert api.search_all_ids("contacts", body) == [str(i) for i in ids[:3] + ids[-2:]]
    body = {
        "filterGroups": [
            _group(_f("hs_object_id", "BETWEEN", str(ids[10]), highValue=str(ids[20])))
        ],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "limit": 200,
        "properties": ["lastmodifieddate"],
    }
    got = api.search("contacts", body).json()["results"]
    assert sorted(int(r["id"]) for r in got) == ids[10:21]
    stamps = [parse_ms(r["properties"]["lastmodifieddate"]) for r in got]
    assert stamps == sorted(stamps)
