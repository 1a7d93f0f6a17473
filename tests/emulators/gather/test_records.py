"""Record upserts: create/update codes, merge semantics, body shapes, required traits."""

from __future__ import annotations

import pytest

from emulators.gather.pytest_plugin import GatherEmulator
from tests.emulators.gather.conftest import ACCOUNT, USER, Api


def test_create_answers_201_with_the_stored_record_flat(api: Api) -> None:
    response = api.upsert("account", {**ACCOUNT, "country": "England"})
    assert response.status_code == 201
    assert response.json() == {"id": "acct-1", "name": "Lovelace, Inc", "country": "England"}


def test_update_answers_200_and_merges_request_over_stored_traits(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    api.upsert("account", {**ACCOUNT, "country": "England", "size": "50-100"})
    response = api.upsert("account", {"id": "acct-1", "country": "France", "plan": "pro"})
    assert response.status_code == 200
    expected = {"name": "Lovelace, Inc", "country": "France", "size": "50-100", "plan": "pro"}
    assert response.json() == {"id": "acct-1", **expected}
    assert gather_emulator.records("account") == {"acct-1": expected}


def test_null_trait_clears_it_and_absent_trait_is_kept(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    api.upsert("account", {**ACCOUNT, "country": "England", "city": "London"})
    response = api.upsert("account", {"id": "acct-1", "country": None})
    assert response.status_code == 200
    assert gather_emulator.records("account")["acct-1"] == {
        "name": "Lovelace, Inc",
        "country": None,
        "city": "London",
    }


def test_same_write_twice_is_idempotent(api: Api, gather_emulator: GatherEmulator) -> None:
    assert api.upsert("user", USER).status_code == 201
    assert api.upsert("user", USER).status_code == 200
    assert gather_emulator.records("user") == {
        "user-1": {k: v for k, v in USER.items() if k != "id"}
    }


def test_traits_envelope_is_accepted_like_gather_js_1_1(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    traits = {k: v for k, v in USER.items() if k != "id"}
    response = api.upsert("user", {"id": "user-1", "traits": traits})
    assert response.status_code == 201
    assert response.json() == USER  # echoed flat
    assert gather_emulator.records("user") == {"user-1": traits}


def test_envelope_mixed_with_flat_traits_is_refused(api: Api) -> None:
    response = api.upsert("account", {"id": "a", "traits": {"name": "A"}, "size": "5"})
    assert response.status_code == 400
    assert "size" in response.json()["non_field_errors"][0]


def test_envelope_with_conflicting_inner_id_is_refused(api: Api) -> None:
    response = api.upsert("account", {"id": "a", "traits": {"id": "b", "name": "A"}})
    assert response.status_code == 400
    assert "id" in response.json()


def test_form_encoded_body_as_in_gathers_docs(api: Api, gather_emulator: GatherEmulator) -> None:
    response = api.post(
        "/models/account/records",
        data="id=1234&name=Lovelace%2C+Inc&size=50-100",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201
    assert response.json() == {"id": "1234", "name": "Lovelace, Inc", "size": "50-100"}
    assert gather_emulator.records("account") == {
        "1234": {"name": "Lovelace, Inc", "size": "50-100"}
    }


def test_form_encoded_envelope_with_bracket_notation(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    response = api.post(
        "/models/account/records",
        data={"id": "a1", "traits[name]": "Acme", "traits[address][city]": "Paris"},
    )
    assert response.status_code == 201
    assert gather_emulator.records("account") == {
        "a1": {"name": "Acme", "address": {"city": "Paris"}}
    }


def test_multipart_form_body_is_accepted(api: Api, gather_emulator: GatherEmulator) -> None:
    response = api.post(
        "/models/account/records", files={"id": (None, "m1"), "name": (None, "Multi")}
    )
    assert response.status_code == 201
    assert gather_emulator.records("account") == {"m1": {"name": "Multi"}}


@pytest.mark.parametrize(
    ("model", "body", "errors"),
    [
        ("account", {"id": "a"}, {"name": ["This field is required."]}),
        ("account", {"name": "A"}, {"id": ["This field is required."]}),
        ("account", {"id": "", "name": "A"}, {"id": ["This field may not be blank."]}),
        ("account", {"id": "  ", "name": "A"}, {"id": ["This field may not be blank."]}),
        ("account", {"id": None, "name": "A"}, {"id": ["This field may not be null."]}),
        ("account", {"id": ["x"], "name": "A"}, {"id": ["Not a valid string."]}),
        ("account", {"id": True, "name": "A"}, {"id": ["Not a valid string."]}),
        ("account", {"id": "a", "name": ""}, {"name": ["This field may not be blank."]}),
        ("account", {"id": "a", "name": None}, {"name": ["This field may not be null."]}),
        (
            "user",
            {"id": "u"},
            {
                "first_name": ["This field is required."],
                "last_name": ["This field is required."],
                "email": ["This field is required."],
            },
        ),
        (
            "user",
            {"id": "u", "first_name": "A", "last_name": "", "email": "a@b.c"},
            {"last_name": ["This field may not be blank."]},
        ),
        ("orders", {"amount": 75}, {"id": ["This field is required."]}),
        ("orders", {}, {"id": ["This field is required."]}),
    ],
)
def test_missing_or_empty_required_fields_answer_400_naming_each(
    api: Api,
    gather_emulator: GatherEmulator,
    model: str,
    body: dict[str, object],
    errors: dict[str, list[str]],
) -> None:
    response = api.upsert(model, body)
    assert response.status_code == 400
    assert response.json() == errors
    assert gather_emulator.records(model) == {}


def test_custom_model_requires_only_id(api: Api, gather_emulator: GatherEmulator) -> None:
    body = {"id": "ch_4567", "amount": 75, "stripe_charge_id": "ch_4567"}
    assert api.upsert("orders", body).status_code == 201
    assert gather_emulator.records("orders") == {
        "ch_4567": {"amount": 75, "stripe_charge_id": "ch_4567"}
    }


def test_numeric_id_is_stored_as_text(api: Api, gather_emulator: GatherEmulator) -> None:
    response = api.upsert("account", {"id": 1234, "name": "Numbers"})
    assert response.status_code == 201
    assert response.json()["id"] == "1234"
    assert api.upsert("account", {"id": "1234", "size": 3}).status_code == 200


def test_partial_update_may_omit_required_traits_by_default(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    api.upsert("user", USER)
    response = api.upsert("user", {"id": "user-1", "city": "London"})
    assert response.status_code == 200
    assert gather_emulator.records("user")["user-1"]["first_name"] == "Ada"


def test_update_cannot_blank_or_null_a_required_trait(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    api.upsert("user", USER)
    response = api.upsert("user", {"id": "user-1", "email": None, "first_name": ""})
    assert response.status_code == 400
    assert response.json() == {
        "email": ["This field may not be null."],
        "first_name": ["This field may not be blank."],
    }
    assert gather_emulator.records("user")["user-1"]["email"] == USER["email"]


def test_require_traits_on_update_switch(api: Api, gather_emulator: GatherEmulator) -> None:
    api.upsert("user", USER)
    gather_emulator.set_config(require_traits_on_update=True)
    response = api.upsert("user", {"id": "user-1", "first_name": "Augusta"})
    assert response.status_code == 400
    assert set(response.json()) == {"last_name", "email"}
    assert gather_emulator.records("user")["user-1"]["first_name"] == "Ada"


def test_strict_email_switch(api: Api, gather_emulator: GatherEmulator) -> None:
    bad = {**USER, "email": "not-an-email"}
    assert api.upsert("user", bad).status_code == 201  # default: Gather's rule is unknown
    gather_emulator.set_config(strict_email=True)
    response = api.upsert("user", {**bad, "id": "user-2"})
    assert response.status_code == 400
    assert response.json() == {"email": ["Enter a valid email address."]}
    assert api.upsert("orders", {"id": "o1", "email": "free text"}).status_code == 201


def test_known_models_switch_answers_404_for_other_models(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    gather_emulator.set_config(known_models=["account", "user", "orders"])
    assert api.upsert("orders", {"id": "o1"}).status_code == 201
    response = api.upsert("invoices", {"id": "i1"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_unicode_traits_round_trip(api: Api, gather_emulator: GatherEmulator) -> None:
    body = {"id": "ü-1", "name": "Société Générale 日本 🚀", "emoji": "👩‍💻"}
    assert api.upsert("account", body).status_code == 201
    assert gather_emulator.records("account") == {
        "ü-1": {"name": "Société Générale 日本 🚀", "emoji": "👩‍💻"}
    }


def test_account_id_links_user_to_account_and_is_optional(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    assert (
        api.upsert("user", {k: v for k, v in USER.items() if k != "account_id"}).status_code == 201
    )
    assert api.upsert("user", {**USER, "id": "user-2"}).status_code == 201
    page = api.get("/models/user/records", params={"account_id": "acct-1"}).json()
    assert [r["id"] for r in page["results"]] == ["user-2"]


def test_method_not_allowed_has_drf_body(api: Api) -> None:
    response = api.session.put(f"{api.url}/models/account/records", json=ACCOUNT)
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.'}
