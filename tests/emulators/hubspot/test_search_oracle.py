"""Property-based check of search against a tiny independent oracle computed from the admin
dump: random filter groups over string, number, date and id properties, with keyset and offset
paging, must return exactly the records (and the `total`) the oracle predicts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from emulators.hubspot.timeutil import parse_ms
from tests.emulators.hubspot.conftest import Api

CITIES = ["berlin", "paris", "tokyo", "london", "nowhere"]
STAMPS = [1_680_000_000_000, 1_700_000_000_000, 1_720_000_000_000]


@pytest.fixture(scope="module")
def world(hubspot_emulator_module: HubSpotEmulator) -> Iterator[tuple[Api, list[dict]]]:
    emulator = hubspot_emulator_module
    emulator.reset()
    emulator.unlimit()
    emulator.seed(companies=80, contacts=10, seed=13, junk_number_share=0.2, missing_name_share=0.2)
    api = Api(emulator)
    yield api, emulator.dump("companies")
    api.session.close()


def _value(record: dict, name: str) -> Any:
    raw = record["properties"].get(name)
    if name == "hs_object_id":
        return int(record["id"])
    if raw is None:
        return None
    if name == "numberofemployees":
        try:
            return float(raw)
        except ValueError:
            return None
    if name == "hs_lastmodifieddate":
        return parse_ms(raw)
    return raw.lower()


def _operand(name: str, value: str) -> Any:
    if name in ("numberofemployees", "hs_object_id"):
        return float(value)
    if name == "hs_lastmodifieddate":
        return int(value)
    return value.lower()


def _oracle(f: dict) -> Callable[[dict], bool]:
    name, op = f["propertyName"], f["operator"]

    def check(record: dict) -> bool:
        v = _value(record, name)
        if op == "HAS_PROPERTY":
            return name == "hs_object_id" or name in record["properties"]
        if v is None:
            return op == "NEQ"
        x = _operand(name, f["value"])
        return {
            "EQ": v == x,
            "NEQ": v != x,
            "LT": v < x,
            "LTE": v <= x,
            "GT": v > x,
            "GTE": v >= x,
        }[op]

    return check


OPS = ["EQ", "NEQ", "LT", "LTE", "GT", "GTE"]


def _filters(ids: list[int]) -> st.SearchStrategy[dict]:
    city = st.builds(
        lambda op, v: {"propertyName": "city", "operator": op, "value": v.upper()},
        st.sampled_from(["EQ", "NEQ"]),
        st.sampled_from(CITIES),
    )
    number = st.builds(
        lambda op, v: {"propertyName": "numberofemployees", "operator": op, "value": str(v)},
        st.sampled_from(OPS),
        st.integers(0, 5000),
    )
    date = st.builds(
        lambda op, v: {"propertyName": "hs_lastmodifieddate", "operator": op, "value": str(v)},
        st.sampled_from(OPS),
        st.sampled_from(STAMPS),
    )
    ident = st.builds(
        lambda op, v: {"propertyName": "hs_object_id", "operator": op, "value": str(v)},
        st.sampled_from(["GT", "GTE", "LT", "LTE"]),
        st.sampled_from(ids),
    )
    has = st.just({"propertyName": "name", "operator": "HAS_PROPERTY"})
    return st.one_of(city, number, date, ident, has)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_search_matches_an_independent_oracle(
    world: tuple[Api, list[dict]], data: st.DataObject
) -> None:
    api, companies = world
    ids = [int(c["id"]) for c in companies]
    groups = data.draw(st.lists(st.lists(_filters(ids), min_size=1, max_size=3), max_size=3))
    body: dict[str, Any] = {
        "filterGroups": [{"filters": g} for g in groups],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "limit": data.draw(st.integers(3, 40)),
    }
    expected = [
        c["id"]
        for c in companies
        if not groups or any(all(_oracle(f)(c) for f in g) for g in groups)
    ]
    response = api.search("companies", body)
    assert response.status_code == 200, response.text
    assert response.json()["total"] == len(expected)
    assert api.search_all_ids("companies", body) == expected
