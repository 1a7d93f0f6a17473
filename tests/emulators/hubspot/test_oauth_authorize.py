"""The emulator's OAuth consent page, the authorization-code grant and token introspection,
spoken to over HTTP as a browser and an app would."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from emulators.hubspot import auth as emulator_auth
from emulators.hubspot.pytest_plugin import HubSpotEmulator

REDIRECT = "http://localhost:8976/oauth-callback"
SCOPES = ["crm.objects.companies.read", "crm.objects.contacts.read"]
TIMEOUT_S = 10


def _page(emulator: HubSpotEmulator, **overrides: str) -> requests.Response:
    params = {
        "client_id": emulator.oauth_client.client_id,
        "redirect_uri": REDIRECT,
        "scope": " ".join(SCOPES),
        "state": "st-123",
        **overrides,
    }
    return requests.get(emulator.url + "/oauth/authorize", params=params, timeout=TIMEOUT_S)


def _decide(emulator: HubSpotEmulator, decision: str, page: requests.Response) -> dict[str, str]:
    """Post the page's form as a browser would; the redirect's query parameters."""
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    answer = requests.post(
        emulator.url + "/oauth/authorize",
        data={**fields, "decision": decision},
        allow_redirects=False,
        timeout=TIMEOUT_S,
    )
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def _exchange(emulator: HubSpotEmulator, code: str, redirect: str = REDIRECT) -> requests.Response:
    client = emulator.oauth_client
    form = {
        "grant_type": "authorization_code",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uri": redirect,
        "code": code,
    }
    return requests.post(emulator.url + "/oauth/v1/token", data=form, timeout=TIMEOUT_S)


def test_the_consent_page_names_the_portal_the_app_and_every_requested_scope(
    emulator: HubSpotEmulator,
) -> None:
    page = _page(emulator)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert str(emulator_auth.HUB_ID) in page.text
    assert emulator_auth.HUB_DOMAIN in page.text
    assert "Gather sync" in page.text
    for scope in SCOPES:
        assert f"<li>{scope}</li>" in page.text
    assert ">Connect app</button>" in page.text
    assert ">Cancel</button>" in page.text


def test_connect_redirects_with_a_code_that_buys_working_tokens(emulator: HubSpotEmulator) -> None:
    redirect = _decide(emulator, "connect", _page(emulator))
    assert redirect["state"] == "st-123"

    tokens = _exchange(emulator, redirect["code"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "bearer"
    assert body["hub_id"] == emulator_auth.HUB_ID
    assert sorted(body["scopes"]) == sorted(SCOPES)

    info = requests.get(
        emulator.url + "/oauth/v1/access-tokens/" + body["access_token"], timeout=TIMEOUT_S
    ).json()
    assert info["hub_id"] == emulator_auth.HUB_ID
    assert info["hub_domain"] == emulator_auth.HUB_DOMAIN
    assert sorted(info["scopes"]) == sorted(SCOPES)
    assert 0 < info["expires_in"] <= body["expires_in"]

    crm = requests.get(
        emulator.url + "/crm/v3/objects/contacts",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=TIMEOUT_S,
    )
    assert crm.status_code == 200

    refreshed = requests.post(
        emulator.url + "/oauth/v1/token",
        data={
            "grant_type": "refresh_token",
            "client_id": emulator.oauth_client.client_id,
            "client_secret": emulator.oauth_client.client_secret,
            "refresh_token": body["refresh_token"],
        },
        timeout=TIMEOUT_S,
    )
    assert refreshed.status_code == 200, refreshed.text
    assert sorted(refreshed.json()["scopes"]) == sorted(SCOPES)


def test_a_code_works_once(emulator: HubSpotEmulator) -> None:
    code = _decide(emulator, "connect", _page(emulator))["code"]
    assert _exchange(emulator, code).status_code == 200
    again = _exchange(emulator, code)
    assert again.status_code == 400
    assert again.json()["status"] == "BAD_AUTH_CODE"
    assert "already been used" in again.json()["message"]


def test_a_code_lapses(emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulator_auth, "AUTH_CODE_LIFETIME_S", 0.0)
    code = _decide(emulator, "connect", _page(emulator))["code"]
    late = _exchange(emulator, code)
    assert late.status_code == 400
    assert late.json()["status"] == "BAD_AUTH_CODE"
    assert "expired" in late.json()["message"]


def test_an_unknown_code_and_another_redirect_uri_are_refused(emulator: HubSpotEmulator) -> None:
    unknown = _exchange(emulator, "not-a-code")
    assert unknown.status_code == 400
    assert unknown.json()["status"] == "BAD_AUTH_CODE"
    code = _decide(emulator, "connect", _page(emulator))["code"]
    moved = _exchange(emulator, code, redirect="http://localhost:1/elsewhere")
    assert moved.status_code == 400
    assert moved.json()["status"] == "BAD_REDIRECT_URI"


def test_cancel_redirects_with_access_denied_and_the_state(emulator: HubSpotEmulator) -> None:
    redirect = _decide(emulator, "cancel", _page(emulator))
    assert redirect["error"] == "access_denied"
    assert redirect["state"] == "st-123"
    assert "code" not in redirect


@pytest.mark.parametrize(
    ("overrides", "registered", "message"),
    [
        ({"redirect_uri": "http://localhost:9999/other"}, [REDIRECT], "does not match"),
        ({"redirect_uri": "http://example.com/cb"}, [], "does not match"),
        ({"client_id": "who"}, [], "Unknown app"),
        ({"scope": ""}, [], "no scope"),
    ],
)
def test_a_request_the_app_cannot_make_is_an_error_page_never_a_redirect(
    emulator: HubSpotEmulator, overrides: dict[str, str], registered: list[str], message: str
) -> None:
    emulator.configure_consent(redirect_uris=registered)
    page = _page(emulator, **overrides)
    assert page.status_code == 400
    assert message in page.text
    assert "Connect app" not in page.text


def test_withheld_scopes_are_missing_from_the_grant(emulator: HubSpotEmulator) -> None:
    emulator.configure_consent(withheld_scopes=["crm.objects.contacts.read"])
    code = _decide(emulator, "connect", _page(emulator))["code"]
    assert _exchange(emulator, code).json()["scopes"] == ["crm.objects.companies.read"]


def test_token_info_refuses_an_unknown_token_without_echoing_it(emulator: HubSpotEmulator) -> None:
    answer = requests.get(
        emulator.url + "/oauth/v1/access-tokens/secret-looking-token", timeout=TIMEOUT_S
    )
    assert answer.status_code == 404
    assert "secret-looking-token" not in answer.text
