"""POST /events: type, properties, exactly one of user / account."""

from __future__ import annotations

import pytest

from emulators.gather.pytest_plugin import GatherEmulator
from tests.emulators.gather.conftest import Api

EXACTLY_ONE = {"non_field_errors": ['Send exactly one of "user" or "account".']}


def test_json_event_for_a_user_is_stored(api: Api, gather_emulator: GatherEmulator) -> None:
    body = {
        "type": "page.viewed",
        "user": "4567",
        "properties": {"title": "Pricing", "url": "https://x"},
    }
    response = api.post("/events", json=body)
    assert response.status_code == 201
    stored = response.json()
    assert stored["type"] == "page.viewed"
    assert stored["user"] == "4567"
    assert "account" not in stored
    assert stored["properties"] == {"title": "Pricing", "url": "https://x"}
    assert stored["received_at"].endswith("Z")
    (event,) = gather_emulator.events()
    assert event == stored


def test_form_event_with_bracket_properties_as_in_the_docs(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    response = api.post(
        "/events",
        data="user=4567&type=page.viewed&properties[title]=The+Meaning+of+Life"
        "&properties[url]=https%3A%2F%2Fmeaning.life",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201
    (event,) = gather_emulator.events()
    assert event["properties"] == {"title": "The Meaning of Life", "url": "https://meaning.life"}


def test_event_for_an_account_without_properties(api: Api, gather_emulator: GatherEmulator) -> None:
    response = api.post("/events", json={"type": "something.happened", "account": "acct-1"})
    assert response.status_code == 201
    assert gather_emulator.events()[0]["account"] == "acct-1"
    assert gather_emulator.events()[0]["properties"] == {}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"type": "x", "user": "u", "account": "a"}, EXACTLY_ONE),
        ({"type": "x"}, EXACTLY_ONE),
        ({"type": "x", "user": None}, EXACTLY_ONE),
        ({"user": "u"}, {"type": ["This field is required."]}),
        ({"type": "", "user": "u"}, {"type": ["This field may not be blank."]}),
        ({"type": "x", "user": ""}, {"user": ["This field may not be blank."]}),
        (
            {"type": "x", "user": "u", "properties": "title=x"},
            {"properties": ['Expected a dictionary of items but got type "str".']},
        ),
        (["x"], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    ],
)
def test_invalid_events_answer_400(
    api: Api, gather_emulator: GatherEmulator, body: object, errors: dict[str, list[str]]
) -> None:
    response = api.post("/events", json=body)
    assert response.status_code == 400
    assert response.json() == errors
    assert gather_emulator.events() == []
    assert gather_emulator.stats()["events"] == {"accepted": 0, "rejected": 1}


def test_events_are_not_deduplicated(api: Api, gather_emulator: GatherEmulator) -> None:
    body = {"type": "x", "user": "u"}
    assert api.post("/events", json=body).status_code == 201
    assert api.post("/events", json=body).status_code == 201
    assert [e["id"] for e in gather_emulator.events()] == [1, 2]
