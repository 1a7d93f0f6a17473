"""Record ids that are hard to put in a URL, and DELETE (204 / 404)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from emulators.gather.pytest_plugin import GatherEmulator
from tests.emulators.gather.conftest import Api

AWKWARD_IDS = [
    "Sterling Cooper",  # the 2018 doc's own example
    "a/b/c",
    "what?x=1&y=2",
    "100%",
    "%2F",
    "dots.in.id",
    "..",
    ".",
    "hash#tag",
    "plus+sign",
    "ünïcødé",
    "日本語",
    "emoji 🚀",
    "semi;colon",
    "back\\slash",
]


@pytest.mark.parametrize("record_id", AWKWARD_IDS)
def test_awkward_ids_round_trip_through_post_get_delete(
    api: Api, gather_emulator: GatherEmulator, record_id: str
) -> None:
    assert api.upsert("account", {"id": record_id, "name": "N"}).status_code == 201
    assert gather_emulator.records("account") == {record_id: {"name": "N"}}
    fetched = api.get_record("account", record_id)
    assert fetched.status_code == 200
    assert fetched.json()["id"] == record_id
    deleted = api.delete_record("account", record_id)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert gather_emulator.records("account") == {}


def test_ids_are_decoded_exactly_once(api: Api, gather_emulator: GatherEmulator) -> None:
    api.upsert("account", {"id": "a/b", "name": "slash"})
    api.upsert("account", {"id": "a%2Fb", "name": "literal"})
    # %252F decodes once to the literal "%2F", never twice to "/".
    response = api.session.delete(f"{api.url}/models/account/records/a%252Fb")
    assert response.status_code == 204
    assert gather_emulator.records("account") == {"a/b": {"name": "slash"}}


def test_space_encoded_as_percent_20_as_in_the_docs(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    api.upsert("account", {"id": "Sterling Cooper", "name": "SC"})
    response = api.session.delete(f"{api.url}/models/account/records/Sterling%20Cooper")
    assert response.status_code == 204


def test_unencoded_slash_is_not_an_id(api: Api, gather_emulator: GatherEmulator) -> None:
    api.upsert("account", {"id": "a/b", "name": "slash"})
    response = api.session.delete(f"{api.url}/models/account/records/a/b")
    assert response.status_code == 404
    assert gather_emulator.records("account") == {"a/b": {"name": "slash"}}


def test_delete_unknown_id_answers_404(api: Api, gather_emulator: GatherEmulator) -> None:
    response = api.delete_record("account", "nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert gather_emulator.stats()["records"]["account"]["delete_misses"] == 1


def test_delete_is_per_model(api: Api, gather_emulator: GatherEmulator) -> None:
    api.upsert("account", {"id": "same", "name": "A"})
    api.upsert("orders", {"id": "same"})
    assert api.delete_record("orders", "same").status_code == 204
    assert gather_emulator.records("account") == {"same": {"name": "A"}}
    assert api.delete_record("orders", "same").status_code == 404


def test_delete_then_post_creates_again(api: Api, gather_emulator: GatherEmulator) -> None:
    api.upsert("account", {"id": "a", "name": "A", "old": "trait"})
    api.delete_record("account", "a")
    response = api.upsert("account", {"id": "a", "name": "A2"})
    assert response.status_code == 201
    assert gather_emulator.records("account") == {"a": {"name": "A2"}}


def test_invalid_percent_encoding_is_404(api: Api) -> None:
    response = api.session.delete(f"{api.url}/models/account/records/{quote('x')}%FF")
    assert response.status_code == 404
