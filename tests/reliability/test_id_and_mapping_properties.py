"""Property tests: the tap and the target key a record the same way; the built-in field
mapping sends exactly what the product page promises, for any values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import tap_hubspot_gather.accounts
import tap_hubspot_gather.check.scan
import tap_hubspot_gather.streams
import target_gather.mapping
import target_gather.sinks
from hubspot_gather_common.ids import normalize_id
from target_gather.mapping import BUILTIN_MAPPINGS, bind, parse_mapping
from tests.e2e.expected import USER_TRAITS

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


def test_tap_and_target_key_records_with_the_one_shared_rule() -> None:
    # No private copy anywhere: every module that keys or links a record uses the shared rule.
    for module in (
        tap_hubspot_gather.accounts,
        tap_hubspot_gather.streams,
        tap_hubspot_gather.check.scan,
        target_gather.mapping,
        target_gather.sinks,
    ):
        assert module.normalize_id is normalize_id, module.__name__


@settings(max_examples=100)
@given(ID_VALUES, st.booleans())
def test_normalizing_an_emitted_key_again_keeps_it(value: Any, email: bool) -> None:
    emitted = normalize_id(value, lower=email)
    if emitted is not None:
        assert normalize_id(emitted, lower=email) == emitted


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_an_integer_id_is_one_key_in_every_form_on_both_sides(value: int) -> None:
    forms: list[Any] = [value, float(value), str(value), f" {value}.0 ", Decimal(value)]
    keys = {normalize_id(f) for f in forms}
    assert keys == {str(value)}


@given(st.one_of(st.lists(st.integers()), st.dictionaries(st.text(), st.text()), st.binary()))
def test_a_value_that_is_not_a_scalar_is_no_id(value: Any) -> None:
    assert normalize_id(value) is None


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
            or (account is not None and normalize_id(account) is None)
        ), refusal
        if email and email.strip():
            assert email.strip() not in refusal  # reasons never carry record values
        return
    assert required_ok
    traits["email"] = str(traits["email"]).strip().lower()
    account = record["primary_company_account_id"]
    if account is not None:
        traits["account_id"] = normalize_id(account)
    assert mapped.key == str(vid)
    assert mapped.body == {**traits, "id": str(vid)}
    assert "jobtitle" not in mapped.body  # unmapped fields never travel
