"""Property tests: the tap and the target key a record the same way; the built-in field
mapping sends exactly what the product page promises, for any values."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tap_hubspot_gather.ids import normalize_id as tap_normalize_id
from target_gather.mapping import BUILTIN_MAPPINGS, bind, parse_mapping
from target_gather.mapping import normalize_id as target_normalize_id
from tests.e2e.expected import USER_TRAITS

ROOT = Path(__file__).resolve().parents[2]
TAP_IDS = ROOT / "tap-hubspot-gather" / "tap_hubspot_gather" / "ids.py"
TARGET_IDS = ROOT / "target-gather" / "target_gather" / "ids.py"

# What a HubSpot ID property can hold: strings (every HubSpot property value is a string on the
# wire), including numeric-looking ones with signs, fractions and padding, and ints/floats.
NUMERIC_TEXT = st.builds(
    lambda sign, digits, zeros, pad: f"{pad}{sign}{digits}{'.' + zeros if zeros else ''}{pad}",
    st.sampled_from(["", "+", "-"]),
    st.integers(min_value=0, max_value=10**20).map(str),
    st.sampled_from(["", "0", "00", "000", "5", "50"]),
    st.sampled_from(["", " ", "\t"]),
)
ID_VALUES = st.one_of(
    st.text(),
    NUMERIC_TEXT,
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.emails(),
)


def test_tap_and_target_vendor_the_same_id_rule_byte_for_byte() -> None:
    # One rule, shipped inside each plugin so each installs on its own: the copies must not drift.
    assert TAP_IDS.read_bytes() == TARGET_IDS.read_bytes()


@settings(max_examples=100)
@given(ID_VALUES, st.booleans())
def test_tap_and_target_normalize_every_id_value_alike(value: Any, email: bool) -> None:
    assert tap_normalize_id(value, lower=email) == target_normalize_id(value, lower=email)


@settings(max_examples=100)
@given(ID_VALUES, st.booleans())
def test_normalizing_an_emitted_key_again_keeps_it(value: Any, email: bool) -> None:
    emitted = tap_normalize_id(value, lower=email)
    if emitted is not None:
        assert target_normalize_id(emitted, lower=email) == emitted


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_an_integer_id_is_one_key_in_every_form_on_both_sides(value: int) -> None:
    forms: list[Any] = [value, float(value), str(value), f" {value}.0 ", Decimal(value)]
    keys = {tap_normalize_id(f) for f in forms} | {target_normalize_id(f) for f in forms}
    assert keys == {str(value)}


@given(st.one_of(st.lists(st.integers()), st.dictionaries(st.text(), st.text()), st.binary()))
def test_a_value_that_is_not_a_scalar_is_no_id(value: Any) -> None:
    assert tap_normalize_id(value) is None


CONTACTS_SCHEMA = {
    "type": "object",
    "properties": {
        name: {"type": ["string", "null"]}
        for name in (
            "vid",
            "firstname",
            "lastname",
            "email",
            "city",
            "country",
            "primary_company_account_id",
            "jobtitle",
        )
    },
}
OPTIONAL_TEXT = st.one_of(st.none(), st.text(max_size=30))
EMAILISH = st.one_of(st.none(), st.emails(), st.emails().map(lambda e: f"  {e.upper()} "))


@given(
    vid=st.integers(min_value=1, max_value=10**12),
    values=st.fixed_dictionaries(
        {
            "firstname": OPTIONAL_TEXT,
            "lastname": OPTIONAL_TEXT,
            "city": OPTIONAL_TEXT,
            "country": OPTIONAL_TEXT,
            "jobtitle": OPTIONAL_TEXT,
            "primary_company_account_id": st.one_of(st.none(), NUMERIC_TEXT, st.text()),
        }
    ),
    email=EMAILISH,
)
def test_the_contacts_mapping_sends_the_documented_traits_or_refuses_the_record(
    vid: int, values: dict[str, Any], email: str | None
) -> None:
    bound = bind(parse_mapping("contacts", BUILTIN_MAPPINGS["contacts"]), CONTACTS_SCHEMA, ["vid"])
    record = {"vid": vid, **values, "email": email}
    # The product page's rules, written independently of the target's code.
    traits = {
        trait: record[field] for trait, field in USER_TRAITS.items() if record[field] is not None
    }
    required_ok = all(
        isinstance(traits.get(t), str) and traits[t].strip()
        for t in ("first_name", "last_name", "email")
    )
    try:
        mapped = bound.map_record(record)
    except ValueError as exc:
        refusal = str(exc)
    else:
        refusal = None
    if refusal is not None:
        # Refused: a required trait is empty, the email is not one, or the account id unusable.
        account = record["primary_company_account_id"]
        assert (
            not required_ok
            or "email" in refusal
            or (account is not None and target_normalize_id(account) is None)
        ), refusal
        if email and email.strip():
            assert email.strip() not in refusal  # reasons never carry record values
        return
    assert required_ok
    traits["email"] = str(traits["email"]).strip().lower()
    account = record["primary_company_account_id"]
    if account is not None:
        traits["account_id"] = target_normalize_id(account)
    assert mapped.key == str(vid)
    assert mapped.body == {**traits, "id": str(vid)}
    assert "jobtitle" not in mapped.body  # unmapped fields never travel
