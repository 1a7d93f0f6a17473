"""Property typing and ID normalization: the per-record rules, checked value by value."""

from __future__ import annotations

import pytest

from hubspot_gather_common.ids import normalize_id
from tap_hubspot_gather.paging import ListPager
from tap_hubspot_gather.properties import PropertyDef, ValueConverter


def convert(type_: str, raw: object) -> object:
    converter = ValueConverter([PropertyDef("p", type_)])
    out: dict[str, object] = {}
    converter.convert({"p": raw}, out)
    return out["p"]


@pytest.mark.parametrize(
    ("type_", "raw", "expected"),
    [
        ("number", "17", 17),
        ("number", "17.0", 17),
        ("number", "-3.25", -3.25),
        ("number", "1,250", None),
        ("number", "N/A", None),
        ("number", "nan", None),
        ("number", "", None),
        ("number", None, None),
        ("bool", "true", True),
        ("bool", "FALSE", False),
        ("bool", "maybe", None),
        ("date", "2020-02-29", "2020-02-29"),
        ("date", "1582934400000", "2020-02-29"),
        ("date", "2020-02-29T00:00:00Z", "2020-02-29"),
        ("date", "not a date", None),
        ("datetime", "2024-01-17T19:55:04.281Z", "2024-01-17T19:55:04.281Z"),
        ("datetime", "2024-01-17T19:55:04Z", "2024-01-17T19:55:04.000Z"),
        ("datetime", "2024-01-17T21:55:04.281+02:00", "2024-01-17T19:55:04.281Z"),
        ("datetime", "2024-01-17T19:55:04.281123456Z", "2024-01-17T19:55:04.281Z"),
        ("datetime", "1705521304281", "2024-01-17T19:55:04.281Z"),
        ("datetime", "N/A", None),
        ("string", "N/A", "N/A"),
        ("enumeration", "a;b", "a;b"),
        ("phone_number", "+1 555", "+1 555"),
    ],
)
def test_values_become_their_property_type_and_junk_becomes_null(
    type_: str, raw: object, expected: object
) -> None:
    assert convert(type_, raw) == expected


def test_junk_values_are_counted_per_property() -> None:
    converter = ValueConverter([PropertyDef("employees", "number"), PropertyDef("x", "bool")])
    for raw in ("N/A", "12", "unknown"):
        converter.convert({"employees": raw, "x": "true", "unknown_prop": "1"}, {})
    assert converter.junk == {"employees": 2}


def test_properties_not_in_the_schema_are_not_emitted() -> None:
    out: dict[str, object] = {}
    ValueConverter([PropertyDef("a", "string")]).convert({"a": "1", "b": "2"}, out)
    assert out == {"a": "1"}


def test_json_schema_types_are_nullable_and_typed() -> None:
    assert PropertyDef("n", "number").json_schema() == {"type": ["number", "null"]}
    assert PropertyDef("d", "datetime").json_schema()["format"] == "date-time"
    assert PropertyDef("d", "date").json_schema()["format"] == "date"
    assert PropertyDef("b", "bool").json_schema() == {"type": ["boolean", "null"]}
    assert PropertyDef("o", "object_coordinates").json_schema() == {"type": ["string", "null"]}


@pytest.mark.parametrize(
    ("raw", "lower", "expected"),
    [
        ("  A-17 ", False, "A-17"),
        ("123.0", False, "123"),
        ("123.00", False, "123"),
        ("123.5", False, "123.5"),
        (123.0, False, "123"),
        (42, False, "42"),
        ("  Ada@Example.COM ", True, "ada@example.com"),
        ("", False, None),
        ("   ", False, None),
        (None, False, None),
        (float("nan"), False, None),
        (True, False, None),
    ],
)
def test_ids_are_normalized_the_way_the_target_matches_them(
    raw: object, lower: bool, expected: str | None
) -> None:
    assert normalize_id(raw, lower=lower) == expected


def test_url_property_split_keeps_priority_order_and_respects_the_limit() -> None:
    names = ["key", "modified"] + [f"custom_property_{i:04d}" for i in range(1000)]
    in_url, rest = ListPager.split_properties(100, names, 2000)
    assert in_url[:2] == ["key", "modified"]
    assert in_url + rest == names
    assert 100 + len("&properties=") + len(",".join(in_url)) <= 2000
    assert rest, "1,000 properties cannot fit in 2,000 characters"
