"""OAuth on the v3 / date-versioned token endpoints (PKCE, refresh with optional rotation,
client credentials, introspection, revocation) and Service Keys with their scopes, spoken to
over HTTP as an app would."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from emulators.hubspot.auth import SCOPES, pkce_challenge
from emulators.hubspot.pytest_plugin import HubSpotEmulator

REDIRECT = "http://localhost:8976/oauth-callback"
TIMEOUT_S = 10
VERSIONS = ("2026-03", "2026-09", "v3")
CONTACTS = "/crm/objects/2026-09/contacts"
COMPANIES = "/crm/objects/2026-09/companies"


def _post(emulator: HubSpotEmulator, path: str, form: dict[str, str]) -> requests.Response:
    return requests.post(emulator.url + path, data=form, timeout=TIMEOUT_S)


def _client_form(emulator: HubSpotEmulator, **fields: str) -> dict[str, str]:
    client = emulator.oauth_client
    return {"client_id": client.client_id, "client_secret": client.client_secret, **fields}


def _code(emulator: HubSpotEmulator, **extra: str) -> str:
    """Approve the consent page (with `extra` authorize parameters); the redirect's code."""
    params = {
        "client_id": emulator.oauth_client.client_id,
        "redirect_uri": REDIRECT,
        "scope": " ".join(SCOPES),
        "state": "s1",
        **extra,
    }
    page = requests.get(emulator.url + "/oauth/authorize", params=params, timeout=TIMEOUT_S)
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    answer = requests.post(
        emulator.url + "/oauth/authorize",
        data={**fields, "decision": "connect"},
        allow_redirects=False,
        timeout=TIMEOUT_S,
    )
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def _exchange(
    emulator: HubSpotEmulator, code: str, version: str = "2026-03", **extra: str
) -> requests.Response:
    form = _client_form(
        emulator, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, **extra
    )
    return _post(emulator, f"/oauth/{version}/token", form)


def _refresh(
    emulator: HubSpotEmulator, refresh_token: str, version: str = "2026-03"
) -> requests.Response:
    form = _client_form(emulator, grant_type="refresh_token", refresh_token=refresh_token)
    return _post(emulator, f"/oauth/{version}/token", form)


def _get(emulator: HubSpotEmulator, path: str, token: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(emulator.url + path, headers=headers, timeout=TIMEOUT_S)


def _assert_oauth_error(answer: requests.Response, error: str, status: str) -> dict[str, Any]:
    assert answer.status_code == 400, answer.text
    body: dict[str, Any] = answer.json()
    assert body["error"] == error
    assert body["status"] == status
    assert body["error_description"] == body["message"]
    assert body["correlationId"]
    return body


@pytest.mark.parametrize("version", VERSIONS)
def test_pkce_code_exchange_gives_working_tokens_for_30_minutes(
    emulator: HubSpotEmulator, version: str
) -> None:
    verifier = secrets.token_urlsafe(48)
    code = _code(emulator, code_challenge=pkce_challenge(verifier), code_challenge_method="S256")
    answer = _exchange(emulator, code, version, code_verifier=verifier)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["expires_in"] == 1800
    assert body["token_use"] == "access_token"
    assert body["token_type"] == "bearer"
    assert body["hub_id"] == emulator.hub_id
    assert sorted(body["scopes"]) == sorted(SCOPES)
    assert body["refresh_token"]
    assert _get(emulator, CONTACTS, body["access_token"]).status_code == 200
    refreshed = _refresh(emulator, body["refresh_token"], version)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] == body["refresh_token"]  # no rotation by default


def test_a_code_issued_with_a_challenge_needs_the_matching_verifier(
    emulator: HubSpotEmulator,
) -> None:
    verifier = secrets.token_urlsafe(48)
    pkce = {"code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256"}
    missing = _exchange(emulator, _code(emulator, **pkce))
    assert (
        "code_verifier is required"
        in _assert_oauth_error(missing, "invalid_grant", "BAD_CODE_VERIFIER")["message"]
    )
    wrong = _exchange(emulator, _code(emulator, **pkce), code_verifier=secrets.token_urlsafe(48))
    assert (
        "does not match"
        in _assert_oauth_error(wrong, "invalid_grant", "BAD_CODE_VERIFIER")["message"]
    )
    unasked = _exchange(emulator, _code(emulator), code_verifier=verifier)
    _assert_oauth_error(unasked, "invalid_grant", "BAD_CODE_VERIFIER")
    assert _exchange(emulator, _code(emulator)).status_code == 200  # no PKCE: still allowed


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "must be S256"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "43 characters"),
    ],
)
def test_authorize_refuses_other_challenge_methods_and_malformed_challenges(
    emulator: HubSpotEmulator, extra: dict[str, str], reason: str
) -> None:
    params = {
        "client_id": emulator.oauth_client.client_id,
        "redirect_uri": REDIRECT,
        "scope": SCOPES[0],
        **extra,
    }
    page = requests.get(emulator.url + "/oauth/authorize", params=params, timeout=TIMEOUT_S)
    assert page.status_code == 400
    assert reason in page.text


def test_credentials_in_the_query_string_or_a_json_body_are_refused(
    emulator: HubSpotEmulator,
) -> None:
    form = _client_form(
        emulator, grant_type="refresh_token", refresh_token=emulator.oauth_client.refresh_token
    )
    in_query = requests.post(
        emulator.url + "/oauth/2026-03/token",
        params={"client_secret": form.pop("client_secret")},
        data=form,
        timeout=TIMEOUT_S,
    )
    body = _assert_oauth_error(in_query, "invalid_request", "BAD_REQUEST")
    assert "client_secret" in body["message"]
    assert emulator.oauth_client.client_secret not in in_query.text
    as_json = requests.post(
        emulator.url + "/oauth/2026-03/token", json=_client_form(emulator), timeout=TIMEOUT_S
    )
    assert (
        "application/x-www-form-urlencoded"
        in _assert_oauth_error(as_json, "invalid_request", "BAD_REQUEST")["message"]
    )


def test_grant_errors_have_the_rfc_6749_shape(emulator: HubSpotEmulator) -> None:
    bad = _refresh(emulator, "zz-not-a-refresh-token")
    _assert_oauth_error(bad, "invalid_grant", "BAD_REFRESH_TOKEN")
    assert "zz-not-a-refresh-token" not in bad.text
    path = "/oauth/2026-03/token"
    base = {"grant_type": "refresh_token", "refresh_token": "x"}
    _assert_oauth_error(
        _post(emulator, path, {**base, "client_id": "nope"}), "invalid_client", "BAD_CLIENT_ID"
    )
    _assert_oauth_error(
        _post(emulator, path, _client_form(emulator, **base, client_secret="wrong")),
        "invalid_client",
        "BAD_CLIENT_SECRET",
    )
    _assert_oauth_error(
        _post(emulator, path, _client_form(emulator, grant_type="password")),
        "unsupported_grant_type",
        "BAD_GRANT_TYPE",
    )


def test_client_credentials_mints_a_token_with_the_asked_scopes_and_no_refresh_token(
    emulator: HubSpotEmulator,
) -> None:
    emulator.seed(companies=1, contacts=1)
    form = _client_form(
        emulator, grant_type="client_credentials", scope="crm.objects.contacts.read"
    )
    answer = _post(emulator, "/oauth/2026-09/token", form)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "refresh_token" not in body
    assert body["token_use"] == "client_credentials"
    assert body["scopes"] == ["crm.objects.contacts.read"]
    assert body["expires_in"] == 1800
    # An app token serves the webhooks journal only: CRM reads refuse it (test_journal_auth.py).
    refused = _get(emulator, CONTACTS, body["access_token"])
    assert refused.status_code == 403
    assert "client credentials token" in refused.json()["message"]
    no_scope = _post(emulator, "/oauth/2026-09/token", {**form, "scope": ""})
    _assert_oauth_error(no_scope, "invalid_scope", "BAD_SCOPE")


def _introspect(emulator: HubSpotEmulator, token: str, **override: str) -> requests.Response:
    form = _client_form(emulator, token=token, **override)
    return _post(emulator, "/oauth/2026-03/token/introspect", form)


ACCESS_FIELDS = {
    "active", "app_id", "client_id", "expires_in", "hub_id", "is_private_distribution",
    "scopes", "signed_access_token", "token", "token_type", "token_use", "user_id",
}  # fmt: skip
REFRESH_FIELDS = {
    "active", "app_id", "client_id", "hub_id", "scopes", "token", "token_type", "token_use",
    "user_id",
}  # fmt: skip


def test_introspection_tells_access_and_refresh_tokens_apart_and_inactive_ones(
    emulator: HubSpotEmulator,
) -> None:
    refresh_token = emulator.oauth_client.refresh_token
    access = _refresh(emulator, refresh_token).json()["access_token"]
    info = _introspect(emulator, access).json()
    assert set(info) >= ACCESS_FIELDS
    assert info["active"] is True
    assert info["token_use"] == "access_token"
    assert info["hub_id"] == emulator.hub_id
    assert info["client_id"] == emulator.oauth_client.client_id
    assert 1790 <= info["expires_in"] <= 1800
    assert info["signed_access_token"]["hubId"] == emulator.hub_id
    refresh = _introspect(emulator, refresh_token).json()
    assert set(refresh) >= REFRESH_FIELDS
    assert refresh["token_use"] == "refresh_token"
    assert refresh["active"] is True
    for token in ("unknown-token", emulator.token, emulator.create_service_key(SCOPES[:1])):
        assert _introspect(emulator, token).json() == {"active": False}
    emulator.expire_tokens()
    assert _introspect(emulator, access).json() == {"active": False}
    refused = _introspect(emulator, refresh_token, client_secret="wrong")
    _assert_oauth_error(refused, "invalid_client", "BAD_CLIENT_SECRET")
    assert refresh_token not in refused.text


def test_revoking_ends_an_access_token_or_a_refresh_token_and_what_it_minted(
    emulator: HubSpotEmulator,
) -> None:
    granted = _exchange(emulator, _code(emulator)).json()
    other = _refresh(emulator, emulator.oauth_client.refresh_token).json()["access_token"]
    revoke = "/oauth/2026-03/token/revoke"
    assert _post(emulator, revoke, _client_form(emulator, token=other)).status_code == 200
    assert _get(emulator, CONTACTS, other).json()["category"] == "INVALID_AUTHENTICATION"
    assert _introspect(emulator, other).json() == {"active": False}
    form = _client_form(emulator, token=granted["refresh_token"])
    assert _post(emulator, revoke, form).status_code == 200
    _assert_oauth_error(
        _refresh(emulator, granted["refresh_token"]), "invalid_grant", "BAD_REFRESH_TOKEN"
    )
    assert _get(emulator, CONTACTS, granted["access_token"]).status_code == 401
    assert _post(emulator, revoke, _client_form(emulator, token="unknown")).status_code == 200


def test_rotation_answers_a_new_refresh_token_and_the_old_one_stops_at_once(
    emulator: HubSpotEmulator,
) -> None:
    emulator.set_config(refresh_token_rotation=True)
    first = _exchange(emulator, _code(emulator)).json()["refresh_token"]
    second = _refresh(emulator, first).json()["refresh_token"]
    assert second != first
    _assert_oauth_error(_refresh(emulator, first), "invalid_grant", "BAD_REFRESH_TOKEN")
    assert _introspect(emulator, first).json() == {"active": False}
    third = _refresh(emulator, second)
    assert third.status_code == 200, third.text
    assert third.json()["refresh_token"] not in (first, second)


def test_rotation_with_a_grace_lets_the_old_token_answer_its_successor_until_the_grace_ends(
    emulator: HubSpotEmulator,
) -> None:
    grace_s = 0.5
    emulator.set_config(refresh_token_rotation=True, refresh_token_grace_s=grace_s)
    first = _exchange(emulator, _code(emulator)).json()["refresh_token"]
    second = _refresh(emulator, first).json()["refresh_token"]
    retried = _refresh(emulator, first)
    assert retried.status_code == 200, retried.text
    assert retried.json()["refresh_token"] == second
    time.sleep(grace_s + 0.1)
    _assert_oauth_error(_refresh(emulator, first), "invalid_grant", "BAD_REFRESH_TOKEN")
    assert _refresh(emulator, second).status_code == 200


def test_v1_refresh_still_works_and_keeps_its_error_shape(emulator: HubSpotEmulator) -> None:
    answer = _post(
        emulator,
        "/oauth/v1/token",
        _client_form(emulator, grant_type="refresh_token", refresh_token="nope"),
    )
    _assert_oauth_error(answer, "invalid_grant", "BAD_REFRESH_TOKEN")


def test_service_keys_carry_scopes_and_missing_ones_answer_403(
    emulator: HubSpotEmulator,
) -> None:
    emulator.seed(companies=1, contacts=1)
    key = emulator.create_service_key(["crm.objects.contacts.read"])
    assert key.startswith("pat-na1-")
    assert _get(emulator, CONTACTS, key).status_code == 200
    assert _get(emulator, "/crm/v3/objects/contacts", key).status_code == 200
    assert _get(emulator, "/crm/properties/2026-09/contacts", key).status_code == 200
    assert _get(emulator, "/account-info/2026-09/details", key).status_code == 200
    refused = _get(emulator, COMPANIES, key)
    assert refused.status_code == 403
    body = refused.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["message"].startswith("This app hasn't been granted all required scopes")
    assert body["errors"][0]["context"]["requiredScopes"] == [
        "crm.objects.companies.read",
        "crm.objects.companies.write",
    ]
    assert body["links"] == {"scopes": "https://developers.hubspot.com/scopes"}
    schemas_only = emulator.create_service_key(["crm.schemas.companies.read"])
    assert _get(emulator, "/crm/properties/2026-03/companies", schemas_only).status_code == 200
    assert _get(emulator, "/crm/properties/2026-03/contacts", schemas_only).status_code == 403
    emulator.delete_service_key(key)
    assert _get(emulator, CONTACTS, key).json()["category"] == "INVALID_AUTHENTICATION"


def test_service_keys_must_look_like_keys_and_have_scopes(emulator: HubSpotEmulator) -> None:
    from emulators.hubspot.pytest_plugin import AdminCallError

    with pytest.raises(AdminCallError, match="starts with 'pat-'"):
        emulator.create_service_key(["crm.objects.contacts.read"], key="secret-123")
    with pytest.raises(AdminCallError, match="at least one scope"):
        emulator.create_service_key([])


def test_the_cli_accepts_service_keys(hubspot_emulator_process: Callable[..., Any]) -> None:
    process = hubspot_emulator_process("--service-key", "pat-na1-cli-key:crm.objects.contacts.read")
    assert _get(process, CONTACTS, "pat-na1-cli-key").status_code == 200
    assert _get(process, COMPANIES, "pat-na1-cli-key").status_code == 403
