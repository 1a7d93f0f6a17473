"""Only the app's client-credentials token may call the journal and the subscriptions, with the
scopes each call needs; private-app keys and users' OAuth tokens are refused."""

from __future__ import annotations

import pytest
import requests

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.emulators.hubspot.journal_client import (
    JOURNAL,
    SUBSCRIPTIONS,
    Journal,
    client_credentials_token,
    issued_token,
    post_token,
)
from tests.emulators.hubspot.journal_schemas import assert_conforms

JOURNAL_SCOPE = "developer.webhooks_journal.read"
READ_SCOPE = "developer.webhooks_journal.subscriptions.read"
WRITE_SCOPE = "developer.webhooks_journal.subscriptions.write"


def _user_token(emulator: HubSpotEmulator) -> str:
    refresh = emulator.oauth_client.refresh_token
    return issued_token(emulator, "refresh_token", refresh_token=refresh)


def test_the_client_credentials_token_may_call(emulator: HubSpotEmulator) -> None:
    app = Journal(emulator)
    assert app.get(JOURNAL + "/latest").status_code == 204
    assert app.get(SUBSCRIPTIONS).status_code == 200


@pytest.mark.parametrize("kind", ["private-app", "service-key", "user-oauth"])
def test_other_known_tokens_are_refused_with_403(emulator: HubSpotEmulator, kind: str) -> None:
    if kind == "private-app":
        token = emulator.token
    elif kind == "service-key":  # even one holding the journal scopes
        token = emulator.create_service_key([JOURNAL_SCOPE, READ_SCOPE, WRITE_SCOPE])
    else:
        token = _user_token(emulator)
    app = Journal(emulator, token)
    for path in (JOURNAL + "/latest", SUBSCRIPTIONS):
        response = app.get(path)
        assert response.status_code == 403
        body = response.json()
        assert_conforms("Error", body)
        assert body["category"] == "MISSING_SCOPES"
        assert "client credentials" in body["message"]
        assert token not in response.text


def test_missing_or_unknown_tokens_are_401(emulator: HubSpotEmulator) -> None:
    bare = requests.get(emulator.url + JOURNAL + "/latest", timeout=30)
    assert bare.status_code == 401
    assert bare.json()["category"] == "INVALID_AUTHENTICATION"
    unknown = Journal(emulator, "not-a-token").get(JOURNAL + "/latest")
    assert unknown.status_code == 401
    assert "not-a-token" not in unknown.text


@pytest.mark.parametrize(
    ("scopes", "method", "path", "needed"),
    [
        ((READ_SCOPE, WRITE_SCOPE), "GET", JOURNAL + "/latest", JOURNAL_SCOPE),
        ((JOURNAL_SCOPE, WRITE_SCOPE), "GET", SUBSCRIPTIONS, READ_SCOPE),
        ((JOURNAL_SCOPE, READ_SCOPE), "POST", SUBSCRIPTIONS, WRITE_SCOPE),
        ((JOURNAL_SCOPE, READ_SCOPE), "DELETE", SUBSCRIPTIONS + "/portals/1", WRITE_SCOPE),
    ],
)
def test_each_call_needs_its_scope(
    emulator: HubSpotEmulator, scopes: tuple[str, ...], method: str, path: str, needed: str
) -> None:
    app = Journal(emulator, client_credentials_token(emulator, scopes))
    response = app.request(method, path, {})
    assert response.status_code == 403
    body = response.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == [needed]


def test_the_specs_scope_names_work_too(emulator: HubSpotEmulator) -> None:
    token = client_credentials_token(
        emulator, ("webhooks-journal-data-access", "webhooks-journal-subscription-read")
    )
    app = Journal(emulator, token)
    assert app.get(JOURNAL + "/latest").status_code == 204
    assert app.get(SUBSCRIPTIONS).status_code == 200


def test_withheld_journal_scope_refuses_reads(emulator: HubSpotEmulator) -> None:
    app = Journal(emulator)
    spec_named = Journal(
        emulator, client_credentials_token(emulator, ("webhooks-journal-data-access",))
    )
    emulator.set_journal(withheld_scopes=[JOURNAL_SCOPE])
    for client in (app, spec_named):  # either spelling of the scope is withheld
        response = client.get(JOURNAL + "/latest")
        assert response.status_code == 403
        assert response.json()["category"] == "MISSING_SCOPES"


def test_a_crm_read_with_the_client_credentials_token_is_refused(
    emulator: HubSpotEmulator,
) -> None:
    emulator.seed(companies=1, contacts=1)
    token = client_credentials_token(emulator)
    for path in ("/crm/objects/2026-03/contacts", "/crm/objects/2026-03/contacts/1"):
        response = requests.get(
            emulator.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert response.status_code == 403
        assert "client credentials token" in response.json()["message"]
        assert token not in response.text


def test_an_expired_client_credentials_token_is_401(emulator: HubSpotEmulator) -> None:
    app = Journal(emulator)
    emulator.expire_tokens()
    response = app.get(JOURNAL + "/latest")
    assert response.status_code == 401
    assert response.json()["category"] == "EXPIRED_AUTHENTICATION"


def test_the_token_endpoint_answers_the_client_credentials_shape(
    emulator: HubSpotEmulator,
) -> None:
    scope = f"{JOURNAL_SCOPE} {READ_SCOPE} {WRITE_SCOPE}"
    response = post_token(emulator, "client_credentials", scope=scope)
    body = response.json()
    assert body["token_use"] == "client_credentials"
    assert "refresh_token" not in body
    assert body["scopes"] == [JOURNAL_SCOPE, READ_SCOPE, WRITE_SCOPE]
