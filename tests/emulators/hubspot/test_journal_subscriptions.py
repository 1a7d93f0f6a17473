"""Webhooks-journal subscriptions and filters over HTTP: idempotent create-or-update, list, get,
delete, delete by portal, validation, the app's install, and their shapes (2026-03 spec)."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.emulators.hubspot.journal_client import OBJECT_ACTIONS, SUBSCRIPTIONS, Journal
from tests.emulators.hubspot.journal_schemas import assert_conforms

FILTERS = SUBSCRIPTIONS + "/filters"


@pytest.fixture
def app(emulator: HubSpotEmulator) -> Journal:
    return Journal(emulator)


def _object_subscription(**extra: Any) -> dict[str, Any]:
    return {"subscriptionType": "OBJECT", "objectTypeId": "0-1", "actions": OBJECT_ACTIONS, **extra}


def test_upsert_is_idempotent_and_updates_in_place(app: Journal) -> None:
    first = app.subscribe(**_object_subscription(properties=["email"]))
    assert_conforms("SubscriptionResponse", first)
    assert first["portalId"] == app.portal_id
    assert first["properties"] == ["email"]
    again = app.subscribe(**_object_subscription(properties=["email"]))
    assert again == first  # same id, nothing changed, updatedAt included
    changed = app.subscribe(**_object_subscription(properties=["email", "firstname"]))
    assert changed["id"] == first["id"]
    assert changed["properties"] == ["email", "firstname"]
    assert changed["createdAt"] == first["createdAt"]
    listed = app.get(SUBSCRIPTIONS).json()
    assert_conforms("CollectionResponseSubscriptionResponseNoPaging", listed)
    assert [s["id"] for s in listed["results"]] == [first["id"]]


def test_each_type_and_object_is_its_own_subscription(app: Journal) -> None:
    app.subscribe_all()
    listed = app.get(SUBSCRIPTIONS).json()["results"]
    kinds = sorted((s["subscriptionType"], s["objectTypeId"]) for s in listed)
    assert kinds == [
        ("ASSOCIATION", "0-1"),
        ("GDPR_PRIVACY_DELETION", "0-1"),
        ("OBJECT", "0-1"),
        ("OBJECT", "0-2"),
    ]
    association = next(s for s in listed if s["subscriptionType"] == "ASSOCIATION")
    assert association["associatedObjectTypeIds"] == ["0-2"]
    for subscription in listed:
        assert_conforms("SubscriptionResponse", subscription)


def test_get_and_delete(app: Journal) -> None:
    created = app.subscribe(**_object_subscription())
    path = f"{SUBSCRIPTIONS}/{created['id']}"
    assert app.get(path).json() == created
    deleted = app.request("DELETE", path)
    assert deleted.status_code == 204
    missing = app.get(path)
    assert missing.status_code == 404
    assert_conforms("Error", missing.json())
    assert app.request("DELETE", path).status_code == 404


def test_delete_by_portal(app: Journal) -> None:
    app.subscribe_all()
    response = app.request("DELETE", f"{SUBSCRIPTIONS}/portals/{app.portal_id}")
    assert response.status_code == 204
    assert app.get(SUBSCRIPTIONS).json() == {"results": []}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"subscriptionType": "NOPE"}, "subscriptionType"),
        ({"subscriptionType": "LIST_MEMBERSHIP"}, "not emulated"),
        (_object_subscription(objectTypeId="0-99"), "objectTypeId"),
        (_object_subscription(actions=[]), "actions"),
        (_object_subscription(actions=["GDPR_DELETE"]), "actions"),
        (_object_subscription(objectIds=["x"]), "objectIds"),
        (
            {
                "subscriptionType": "GDPR_PRIVACY_DELETION",
                "objectTypeId": "0-2",
                "actions": ["GDPR_DELETE"],
            },
            "objectTypeId",
        ),
    ],
)
def test_malformed_subscriptions_are_400(app: Journal, body: dict[str, Any], words: str) -> None:
    response = app.request("POST", SUBSCRIPTIONS, {"portalId": app.portal_id, **body})
    assert response.status_code == 400
    assert_conforms("Error", response.json())
    assert words in response.json()["message"]


def test_a_portal_without_the_install_is_refused(app: Journal) -> None:
    response = app.request("POST", SUBSCRIPTIONS, {"portalId": 99, **_object_subscription()})
    assert response.status_code == 400
    assert response.json()["subCategory"] == "APP_NOT_INSTALLED"
    app.emulator.set_journal(app_installed=False)
    mine = app.request("POST", SUBSCRIPTIONS, {"portalId": app.portal_id, **_object_subscription()})
    assert mine.status_code == 400
    assert mine.json()["subCategory"] == "APP_NOT_INSTALLED"


def test_an_install_without_the_object_scope_is_refused(app: Journal) -> None:
    app.emulator.set_journal(withheld_scopes=["crm.objects.contacts.read"])
    response = app.request(
        "POST", SUBSCRIPTIONS, {"portalId": app.portal_id, **_object_subscription()}
    )
    assert response.status_code == 403
    body = response.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.contacts.read"]
    companies = _object_subscription(objectTypeId="0-2")
    assert app.request("POST", SUBSCRIPTIONS, {"portalId": app.portal_id, **companies}).ok


def test_filters_lifecycle(app: Journal) -> None:
    subscription = app.subscribe(**_object_subscription())
    condition = {
        "filterType": "CRM_OBJECT_PROPERTY",
        "property": "city",
        "operator": "IN",
        "values": ["Oslo"],
    }
    created = app.request(
        "POST",
        FILTERS,
        {"subscriptionId": subscription["id"], "filter": {"conditions": [condition]}},
    )
    assert created.status_code == 200
    assert_conforms("FilterCreateResponse", created.json())
    filter_id = created.json()["filterId"]
    one = app.get(f"{FILTERS}/{filter_id}").json()
    assert_conforms("FilterResponse", one)
    assert one["filter"] == {"conditions": [condition]}
    assert app.get(f"{FILTERS}/subscription/{subscription['id']}").json() == [one]
    assert app.request("DELETE", f"{FILTERS}/{filter_id}").status_code == 204
    assert app.get(f"{FILTERS}/{filter_id}").status_code == 404
    bad = app.request(
        "POST", FILTERS, {"subscriptionId": subscription["id"], "filter": {"conditions": []}}
    )
    assert bad.status_code == 400
    unknown = app.request(
        "POST", FILTERS, {"subscriptionId": 1, "filter": {"conditions": [condition]}}
    )
    assert unknown.status_code == 404
