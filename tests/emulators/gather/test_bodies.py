"""Bad bodies: malformed JSON, wrong content types, non-objects, huge and odd encodings."""

from __future__ import annotations

import pytest

from emulators.gather.app import DEFAULT_MAX_BODY_BYTES
from emulators.gather.pytest_plugin import GatherEmulator
from emulators.gather.validation import MAX_NESTING
from tests.emulators.gather.conftest import Api

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("raw", [b"{", b'{"id": "a", "name": }', b"nope", b"{'id': 'a'}"])
def test_malformed_json_answers_400_parse_error(
    api: Api, gather_emulator: GatherEmulator, raw: bytes
) -> None:
    response = api.post("/models/account/records", data=raw, headers=JSON)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")
    assert gather_emulator.stats()["records"]["account"]["rejected"] == 1


def test_invalid_utf8_in_json_answers_400(api: Api) -> None:
    response = api.post(
        "/models/account/records", data=b'{"id": "\xff", "name": "x"}', headers=JSON
    )
    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"[]", "list"),
        (b'[{"id": "a"}]', "list"),
        (b'"a"', "str"),
        (b"42", "int"),
        (b"true", "bool"),
    ],
)
def test_non_object_json_answers_400_non_field_error(api: Api, raw: bytes, kind: str) -> None:
    response = api.post("/models/account/records", data=raw, headers=JSON)
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]
    }


def test_json_null_body_answers_no_data(api: Api) -> None:
    response = api.post("/models/account/records", data=b"null", headers=JSON)
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["No data provided"]}


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/octet-stream"]
)
def test_unsupported_content_type_answers_415(api: Api, content_type: str) -> None:
    response = api.post(
        "/models/account/records",
        data=b'{"id": "a", "name": "A"}',
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 415
    assert response.json() == {"detail": f'Unsupported media type "{content_type}" in request.'}


def test_body_without_content_type_answers_415(api: Api) -> None:
    response = api.post("/models/account/records", data=b'{"id": "a", "name": "A"}')
    assert response.status_code == 415


def test_empty_body_answers_400_naming_required_fields(api: Api) -> None:
    response = api.post("/models/account/records")
    assert response.status_code == 400
    assert response.json() == {
        "id": ["This field is required."],
        "name": ["This field is required."],
    }


def test_json_with_charset_parameter_is_accepted(api: Api) -> None:
    response = api.post(
        "/models/account/records",
        data='{"id": "a", "name": "Åsa"}'.encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


def test_huge_body_answers_413_and_stores_nothing(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    body = {"id": "big", "name": "Big", "blob": "x" * (DEFAULT_MAX_BODY_BYTES + 1)}
    response = api.upsert("account", body)
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert gather_emulator.records("account") == {}


def test_body_just_under_the_limit_is_accepted(api: Api, gather_emulator: GatherEmulator) -> None:
    blob = "x" * (DEFAULT_MAX_BODY_BYTES - 100)
    assert api.upsert("account", {"id": "big", "name": "Big", "blob": blob}).status_code == 201
    assert gather_emulator.records("account")["big"]["blob"] == blob


def test_form_with_conflicting_brackets_answers_400(api: Api) -> None:
    response = api.post(
        "/models/account/records",
        data="id=a&name=A&size=5&size[x]=6",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "size[x]" in response.json()


def test_form_list_brackets_build_lists(api: Api, gather_emulator: GatherEmulator) -> None:
    response = api.post(
        "/models/account/records",
        data="id=a&name=A&tags[]=x&tags[]=y",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201
    assert gather_emulator.records("account")["a"]["tags"] == ["x", "y"]


def test_blank_trait_name_is_refused(api: Api) -> None:
    response = api.upsert("account", {"id": "a", "name": "A", "": "x"})
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Trait names may not be blank."]}


def test_empty_json_body_reads_as_no_fields_like_drf(api: Api) -> None:
    response = api.post("/models/orders/records", data=b"", headers=JSON)
    assert response.status_code == 400
    assert response.json() == {"id": ["This field is required."]}


def test_flat_trait_named_traits_that_is_not_an_object_stays_a_trait(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    response = api.upsert("orders", {"id": "o1", "traits": "just text"})
    assert response.status_code == 201
    assert gather_emulator.records("orders") == {"o1": {"traits": "just text"}}


def test_empty_envelope_on_existing_record_changes_nothing_but_counts_a_write(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    api.upsert("account", {"id": "a", "name": "A"})
    response = api.upsert("account", {"id": "a", "traits": {}})
    assert response.status_code == 200
    assert response.json() == {"id": "a", "name": "A"}
    assert gather_emulator.record("account", "a")["_meta"]["writes"] == 2


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_constants_are_refused_like_drf_strict_json(
    api: Api, gather_emulator: GatherEmulator, constant: str
) -> None:
    raw = f'{{"id": "a", "name": "A", "score": {constant}}}'.encode()
    response = api.post("/models/account/records", data=raw, headers=JSON)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")
    assert constant in response.json()["detail"]
    assert gather_emulator.records("account") == {}


def test_absurdly_deep_json_answers_400_not_500(api: Api, gather_emulator: GatherEmulator) -> None:
    depth = 200_000
    raw = b'{"id": "a", "name": "A", "deep": ' + b"[" * depth + b"]" * depth + b"}"
    response = api.post("/models/account/records", data=raw, headers=JSON)
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]
    assert gather_emulator.records("account") == {}


def test_absurdly_deep_form_brackets_answer_400(api: Api, gather_emulator: GatherEmulator) -> None:
    key = "deep" + "[x]" * 5000
    response = api.post(
        "/models/account/records",
        data=f"id=a&name=A&{key}=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_nesting_up_to_the_limit_is_stored(api: Api, gather_emulator: GatherEmulator) -> None:
    value: object = "leaf"
    for _ in range(MAX_NESTING - 1):  # the body object itself is the first level
        value = {"k": value}
    assert api.upsert("account", {"id": "a", "name": "A", "deep": value}).status_code == 201
    assert gather_emulator.records("account")["a"]["deep"] == value
    too_deep = {"id": "b", "name": "B", "deep": {"k": value}}
    assert api.upsert("account", too_deep).status_code == 400


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": "a", "name": "\\ud800"}',
        b'{"id": "\\udfff", "name": "A"}',
        b'{"id": "a", "name": "A", "\\ud83d": 1}',
    ],
)
def test_lone_surrogate_escapes_answer_400_not_500(
    api: Api, gather_emulator: GatherEmulator, raw: bytes
) -> None:
    response = api.post("/models/account/records", data=raw, headers=JSON)
    assert response.status_code == 400
    assert "surrogate" in response.json()["detail"]
    assert gather_emulator.records("account") == {}


def test_escaped_surrogate_pairs_are_fine(api: Api, gather_emulator: GatherEmulator) -> None:
    raw = b'{"id": "a", "name": "rocket \\ud83d\\ude80"}'
    assert api.post("/models/account/records", data=raw, headers=JSON).status_code == 201
    assert gather_emulator.records("account")["a"]["name"] == "rocket 🚀"
