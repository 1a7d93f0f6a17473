"""Id normalization and URL encoding of ids: properties that must hold for every input."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import unquote

from hypothesis import given
from hypothesis import strategies as st

from hubspot_gather_common.ids import normalize_id
from target_gather.client import record_path


def test_documented_examples() -> None:
    assert normalize_id(42) == "42"
    assert normalize_id(42.0) == "42"
    assert normalize_id(Decimal("42.000")) == "42"
    assert normalize_id(" 42.0 ") == "42"
    assert normalize_id("+7.00") == "7"
    assert normalize_id(4.5) == "4.5"
    assert normalize_id("v1.0") == "v1.0"
    assert normalize_id("  Ada@Example.com ", lower=True) == "ada@example.com"
    assert normalize_id("Ada@Example.com") == "Ada@Example.com"
    for unusable in (None, True, False, "", "   ", float("nan"), float("inf"), [1], {"a": 1}):
        assert normalize_id(unusable) is None


@given(st.integers())
def test_an_integer_and_its_float_and_string_forms_agree(value: int) -> None:
    assert normalize_id(value) == str(value)
    assert normalize_id(Decimal(value)) == str(value)
    assert normalize_id(f"  {value}.0 ") == str(value)


@given(st.text())
def test_normalization_is_idempotent_and_strips(value: str) -> None:
    once = normalize_id(value)
    if once is not None:
        assert once == once.strip()
        assert normalize_id(once) == once
        assert normalize_id(once, lower=True) == normalize_id(value, lower=True)


@given(st.text(min_size=1))
def test_a_record_path_keeps_any_id_in_one_segment(record_id: str) -> None:
    path = record_path("account", record_id)
    prefix = "/models/account/records/"
    assert path.startswith(prefix)
    segment = path[len(prefix) :]
    assert "/" not in segment
    assert "?" not in segment
    assert "#" not in segment
    assert "." not in segment
    assert unquote(segment) == record_id
