"""Shared helpers for the HubSpot emulator tests: an emulator without rate limits (tests of the
limits set their own) and a `requests` session speaking to it with the fixture token.

The emulator's own tests exercise both path families, so the legacy APIs stay on here whatever
the project-wide default is (tests of the retirement ask for it with the marker)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from emulators.hubspot.pytest_plugin import HubSpotEmulator


class Api:
    """A bare HTTP client for the emulator's HubSpot paths."""

    def __init__(self, emulator: HubSpotEmulator) -> None:
        self.emulator = emulator
        self.session = requests.Session()
        self.session.headers.update(emulator.auth_headers)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.emulator.url + path, params=params, timeout=30)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.session.post(self.emulator.url + path, json=body, timeout=30)

    def search(self, object_type: str, body: dict[str, Any]) -> requests.Response:
        return self.post(f"/crm/v3/objects/{object_type}/search", body)

    def search_all_ids(self, object_type: str, body: dict[str, Any]) -> list[str]:
        """Every id a search returns, following `paging.next.after`."""
        ids: list[str] = []
        body = dict(body)
        while True:
            response = self.search(object_type, body)
            assert response.status_code == 200, response.text
            data = response.json()
            ids += [r["id"] for r in data["results"]]
            nxt = data.get("paging", {}).get("next")
            if not nxt:
                return ids
            body["after"] = nxt["after"]


def app_form(emulator: HubSpotEmulator, grant_type: str, **fields: str) -> dict[str, str]:
    """A token-endpoint form for `grant_type` with the fixture OAuth app's client ID and secret;
    `fields` add to it or replace its fields (a wrong secret, say)."""
    client = emulator.oauth_client
    form = {"grant_type": grant_type, "client_id": client.client_id}
    return {**form, "client_secret": client.client_secret, **fields}


def refresh_form(emulator: HubSpotEmulator, **fields: str) -> dict[str, str]:
    """The fixture OAuth app's refresh-token grant form (see `app_form` for `fields`)."""
    refresh = emulator.oauth_client.refresh_token
    return {**app_form(emulator, "refresh_token", refresh_token=refresh), **fields}


@pytest.fixture(scope="session")
def hubspot_emulator_defaults() -> dict[str, Any]:
    """Legacy APIs on for the emulator's own tests (see the module docstring)."""
    return {"legacy_apis": True}


@pytest.fixture
def emulator(hubspot_emulator: HubSpotEmulator) -> HubSpotEmulator:
    """The function-scoped emulator with rate limits off."""
    hubspot_emulator.unlimit()
    return hubspot_emulator


@pytest.fixture
def api(emulator: HubSpotEmulator) -> Iterator[Api]:
    client = Api(emulator)
    yield client
    client.session.close()
