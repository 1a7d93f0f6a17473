"""Private-app tokens, the OAuth refresh flow and HubSpot's 401/400 bodies."""

from __future__ import annotations

import requests

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.emulators.hubspot.conftest import refresh_form

CONTACTS = "/crm/v3/objects/contacts"


def _refresh(emulator: HubSpotEmulator, **overrides: str) -> requests.Response:
    form = refresh_form(emulator, **overrides)
    return requests.post(emulator.url + "/oauth/v1/token", data=form, timeout=10)


def test_missing_or_unknown_token_answers_401_invalid_authentication(
    emulator: HubSpotEmulator,
) -> None:
    missing = requests.get(emulator.url + CONTACTS, timeout=10)
    assert missing.status_code == 401
    assert missing.json()["category"] == "INVALID_AUTHENTICATION"
    wrong = requests.get(
        emulator.url + CONTACTS, headers={"Authorization": "Bearer nope"}, timeout=10
    )
    assert wrong.status_code == 401
    assert wrong.json()["category"] == "INVALID_AUTHENTICATION"
    assert "nope" not in wrong.text
    ok = requests.get(emulator.url + CONTACTS, headers=emulator.auth_headers, timeout=10)
    assert ok.status_code == 200


def test_refresh_flow_issues_tokens_that_work_until_expired(emulator: HubSpotEmulator) -> None:
    response = _refresh(emulator)
    assert response.status_code == 200
    token = response.json()
    assert token["expires_in"] == 1800
    assert token["token_type"] == "bearer"
    assert token["refresh_token"] == emulator.oauth_client.refresh_token
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    ok = requests.get(emulator.url + CONTACTS, headers=headers, timeout=10)
    assert ok.status_code == 200
    # OAuth calls carry no daily headers (D-usage-old).
    assert "X-HubSpot-RateLimit-Daily" not in ok.headers
    assert emulator.expire_tokens() == 1
    stale = requests.get(emulator.url + CONTACTS, headers=headers, timeout=10)
    assert stale.status_code == 401
    body = stale.json()
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert "expire time" in body["context"]
    assert token["access_token"] not in stale.text
    fresh = _refresh(emulator).json()["access_token"]
    assert fresh != token["access_token"]


def test_token_lifetime_is_configurable(emulator: HubSpotEmulator) -> None:
    emulator.set_config(oauth_token_lifetime_s=0)
    token = _refresh(emulator).json()
    assert token["expires_in"] == 0
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    response = requests.get(emulator.url + CONTACTS, headers=headers, timeout=10)
    assert response.json()["category"] == "EXPIRED_AUTHENTICATION"


def test_bad_refresh_token_client_or_secret_answer_400(emulator: HubSpotEmulator) -> None:
    bad = _refresh(emulator, refresh_token="zz-stale-refresh-9")
    assert bad.status_code == 400
    assert bad.json()["status"] == "BAD_REFRESH_TOKEN"
    assert "zz-stale-refresh-9" not in bad.text
    assert _refresh(emulator, client_id="other").json()["status"] == "BAD_CLIENT_ID"
    assert _refresh(emulator, client_secret="x").json()["status"] == "BAD_CLIENT_SECRET"
    assert _refresh(emulator, grant_type="authorization_code").status_code == 400


def test_credentials_can_be_added_at_run_time(emulator: HubSpotEmulator) -> None:
    emulator.add_credentials(tokens=["second-token"])
    headers = {"Authorization": "Bearer second-token"}
    assert requests.get(emulator.url + CONTACTS, headers=headers, timeout=10).status_code == 200


def test_admin_api_needs_no_auth_and_oauth_endpoint_needs_no_bearer(
    emulator: HubSpotEmulator,
) -> None:
    assert requests.get(emulator.url + "/_emulator/stats", timeout=10).status_code == 200
    assert _refresh(emulator).status_code == 200
