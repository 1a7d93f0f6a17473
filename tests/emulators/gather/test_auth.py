"""Authentication: ``Authorization: Token <key>``, DRF-style 401 and 403 bodies."""

from __future__ import annotations

import pytest
import requests

from emulators.gather.pytest_plugin import GatherEmulator
from tests.emulators.gather.conftest import ACCOUNT, Api

API_ROUTES = [
    ("POST", "/models/account/records"),
    ("DELETE", "/models/account/records/acct-1"),
    ("POST", "/events"),
    ("GET", "/models/account/records"),
    ("GET", "/models/account/records/acct-1"),
    ("GET", "/events"),
]


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
def test_every_api_route_answers_401_without_credentials(
    gather_emulator: GatherEmulator, method: str, path: str
) -> None:
    response = requests.request(method, f"{gather_emulator.url}{path}", json=ACCOUNT)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response.headers["WWW-Authenticate"] == "Token"
    assert gather_emulator.records("account") == {}


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Token wrong-key", "Invalid token."),
        ("Bearer gather-test-key-not-a-secret", "Authentication credentials were not provided."),
        ("GatherJS some-client-id", "Authentication credentials were not provided."),
        ("Token", "Invalid token header. No credentials provided."),
        ("Token a b", "Invalid token header. Token string should not contain spaces."),
        ("", "Authentication credentials were not provided."),
    ],
)
def test_bad_credentials_answer_401_with_drf_detail(
    gather_emulator: GatherEmulator, header: str, detail: str
) -> None:
    response = requests.post(
        f"{gather_emulator.url}/models/account/records",
        json=ACCOUNT,
        headers={"Authorization": header},
    )
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert gather_emulator.records("account") == {}


def test_token_keyword_is_case_insensitive_like_drf(gather_emulator: GatherEmulator) -> None:
    response = requests.post(
        f"{gather_emulator.url}/models/account/records",
        json=ACCOUNT,
        headers={"Authorization": f"token {gather_emulator.api_key}"},
    )
    assert response.status_code == 201


def test_invalid_key_is_never_echoed(gather_emulator: GatherEmulator) -> None:
    secret = "sk-live-should-never-be-echoed"
    response = requests.post(
        f"{gather_emulator.url}/models/account/records",
        json=ACCOUNT,
        headers={"Authorization": f"Token {secret}"},
    )
    assert secret not in response.text
    assert secret not in str(response.headers)


def test_permission_denied_switch_answers_403(api: Api, gather_emulator: GatherEmulator) -> None:
    gather_emulator.set_config(permission_denied=True)
    response = api.upsert("account", ACCOUNT)
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}
    assert gather_emulator.records("account") == {}
    gather_emulator.set_config(permission_denied=False)
    assert api.upsert("account", ACCOUNT).status_code == 201


def test_admin_api_needs_no_key(gather_emulator: GatherEmulator) -> None:
    response = requests.get(f"{gather_emulator.url}/_emulator/stats")
    assert response.status_code == 200


def test_api_key_is_not_written_to_the_data_dir(api: Api, gather_emulator: GatherEmulator) -> None:
    assert api.upsert("account", ACCOUNT).status_code == 201
    assert api.post("/events", json={"type": "x", "account": "acct-1"}).status_code == 201
    key = gather_emulator.api_key.encode()
    files = [p for p in gather_emulator.data_dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert key not in path.read_bytes(), path


def test_unknown_path_is_404_before_auth(gather_emulator: GatherEmulator) -> None:
    response = requests.get(f"{gather_emulator.url}/no/such/path")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_wrong_method_authenticates_first_like_drf(gather_emulator: GatherEmulator) -> None:
    url = f"{gather_emulator.url}/models/account/records"
    assert requests.put(url, json=ACCOUNT).status_code == 401
    allowed = requests.put(url, json=ACCOUNT, headers=gather_emulator.auth_headers)
    assert allowed.status_code == 405
