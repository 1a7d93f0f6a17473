"""Property tests over HTTP: merge semantics against a model, form bracket round trips."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulators.gather.pytest_plugin import GatherEmulator
from tests.emulators.gather.conftest import Api

# The fixture outlives examples on purpose: each example writes under a fresh record id.
PER_FIXTURE = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_ids = itertools.count()

trait_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="[]"),
    min_size=1,
    max_size=8,
).filter(lambda name: name != "id")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
writes = st.lists(st.dictionaries(trait_names, json_values, max_size=5), min_size=1, max_size=6)


@PER_FIXTURE
@given(writes=writes, envelope=st.booleans())
def test_stored_traits_equal_successive_dict_merges(
    api: Api, gather_emulator: GatherEmulator, writes: list[dict[str, Any]], envelope: bool
) -> None:
    record_id = f"merge-{next(_ids)}"
    expected: dict[str, Any] = {}
    for n, traits in enumerate(writes):
        body = {"id": record_id, "traits": traits} if envelope else {"id": record_id, **traits}
        response = api.upsert("things", body)
        assert response.status_code == (201 if n == 0 else 200), response.text
        expected.update(traits)
        assert response.json() == {"id": record_id, **expected}
    stored = gather_emulator.record("things", record_id)
    assert stored is not None
    assert stored["_meta"]["writes"] == len(writes)
    assert {k: v for k, v in stored.items() if k not in ("id", "_meta")} == expected


form_trees = st.recursive(
    st.text(max_size=10),
    lambda inner: st.dictionaries(trait_names, inner, min_size=1, max_size=3),
    max_leaves=8,
)


def _pairs(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [pair for key, child in value.items() for pair in _pairs(f"{prefix}[{key}]", child)]
    return [(prefix, value)]


@PER_FIXTURE
@given(traits=st.dictionaries(trait_names, form_trees, min_size=1, max_size=4))
def test_form_bracket_notation_round_trips_nested_traits(
    api: Api, gather_emulator: GatherEmulator, traits: dict[str, Any]
) -> None:
    record_id = f"form-{next(_ids)}"
    pairs = [("id", record_id)]
    for key, value in traits.items():
        pairs += _pairs(f"traits[{key}]", value)
    response = api.post(
        "/models/things/records",
        data=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201, response.text
    assert gather_emulator.records("things")[record_id] == traits


# Any code point, lone surrogates included (requests escapes them as \udXXX in JSON).
any_text = st.text(st.characters(exclude_categories=()), max_size=8)
any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=10,
)
record_like = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=6), st.integers(), st.none())},
    optional={"name": any_json, "traits": any_json, "email": any_json},
).flatmap(
    lambda base: st.dictionaries(st.text(max_size=6), any_json, max_size=3).map(
        lambda extra: {**extra, **base}
    )
)


@PER_FIXTURE
@given(body=st.one_of(any_json, record_like), model=st.sampled_from(["account", "user", "things"]))
def test_no_record_body_makes_the_server_fail(api: Api, body: Any, model: str) -> None:
    response = api.upsert(model, body)
    assert response.status_code in (200, 201, 400), response.text
    assert isinstance(response.json(), dict)


@PER_FIXTURE
@given(
    body=st.one_of(
        any_json,
        st.dictionaries(st.sampled_from(["type", "user", "account", "properties"]), any_json),
    )
)
def test_no_event_body_makes_the_server_fail(api: Api, body: Any) -> None:
    response = api.post("/events", json=body)
    assert response.status_code in (201, 400), response.text
