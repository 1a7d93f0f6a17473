"""A bare HTTP client for the emulator's webhooks journal and subscriptions, as an app uses
them: a client-credentials token, subscriptions for a portal, then the journal by offset and
each file fetched from its pre-signed URL without an Authorization header."""

from __future__ import annotations

from typing import Any

import requests

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.emulators.hubspot.conftest import app_form

V = "2026-03"
TOKEN = f"/oauth/{V}/token"
JOURNAL = f"/webhooks-journal/journal/{V}"
LOCAL = f"/webhooks-journal/journal-local/{V}"
SUBSCRIPTIONS = f"/webhooks-journal/subscriptions/{V}"
ALL_SCOPES = (
    "developer.webhooks_journal.read",
    "developer.webhooks_journal.subscriptions.read",
    "developer.webhooks_journal.subscriptions.write",
    "crm.objects.contacts.read",
    "crm.objects.companies.read",
)
OBJECT_ACTIONS = ["CREATE", "UPDATE", "DELETE", "MERGE", "RESTORE"]


def post_token(emulator: HubSpotEmulator, grant_type: str, **form: str) -> requests.Response:
    """POST a `grant_type` request with the fixture's OAuth app credentials and `form` to the
    token endpoint, as the app would."""
    data = app_form(emulator, grant_type, **form)
    return requests.post(emulator.url + TOKEN, data=data, timeout=30)


def issued_token(emulator: HubSpotEmulator, grant_type: str, **form: str) -> str:
    """The access token the token endpoint issues for a `post_token` request (which must work)."""
    response = post_token(emulator, grant_type, **form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def client_credentials_token(
    emulator: HubSpotEmulator, scopes: tuple[str, ...] = ALL_SCOPES
) -> str:
    """A client-credentials token of the fixture's OAuth app, from the token endpoint."""
    return issued_token(emulator, "client_credentials", scope=" ".join(scopes))


class Journal:
    """The app's view of the journal and its subscriptions."""

    def __init__(self, emulator: HubSpotEmulator, token: str | None = None) -> None:
        self.emulator = emulator
        self.portal_id = int(emulator.call("GET", "/portal")["hub_id"])
        self.session = requests.Session()
        self.session.headers["Authorization"] = (
            f"Bearer {token or client_credentials_token(emulator)}"
        )

    def request(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        return self.session.request(
            method, self.emulator.url + path, json=body, params=params or None, timeout=30
        )

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.request("GET", path, **params)

    def subscribe(self, **body: Any) -> dict[str, Any]:
        """Upsert a subscription for the portal; returns the SubscriptionResponse."""
        response = self.request("POST", SUBSCRIPTIONS, {"portalId": self.portal_id, **body})
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def subscribe_all(self) -> None:
        """What a tap subscribes to: contacts and companies, their associations, privacy."""
        for type_id in ("0-1", "0-2"):
            self.subscribe(subscriptionType="OBJECT", objectTypeId=type_id, actions=OBJECT_ACTIONS)
        self.subscribe(
            subscriptionType="ASSOCIATION",
            objectTypeId="0-1",
            actions=["ASSOCIATION_ADDED", "ASSOCIATION_REMOVED"],
            associatedObjectTypeIds=["0-2"],
        )
        self.subscribe(
            subscriptionType="GDPR_PRIVACY_DELETION", objectTypeId="0-1", actions=["GDPR_DELETE"]
        )

    def latest_offset(self) -> str | None:
        response = self.get(JOURNAL + "/latest")
        if response.status_code == 204:
            return None
        assert response.status_code == 200, response.text
        offset: str = response.json()["currentOffset"]
        return offset

    def read_file(self, url: str) -> dict[str, Any]:
        """Fetch a file from its pre-signed URL, without the Authorization header."""
        response = requests.get(url, timeout=30)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def events_after(self, offset: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Every event after `offset` (from the earliest when None), and the new offset."""
        events: list[dict[str, Any]] = []
        while True:
            path = JOURNAL + ("/earliest" if offset is None else f"/offset/{offset}/next")
            response = self.get(path)
            if response.status_code == 204:
                return events, offset
            assert response.status_code == 200, response.text
            entry = response.json()
            events += self.read_file(entry["url"])["journalEvents"]
            offset = entry["currentOffset"]
