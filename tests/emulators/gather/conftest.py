"""Helpers for the Gather emulator tests: a requests session speaking to the fixture."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from emulators.gather.pytest_plugin import GatherEmulator


class Api:
    """A requests session with the emulator's key, and short-hands for its routes."""

    def __init__(self, emulator: GatherEmulator) -> None:
        self.emulator = emulator
        self.url = emulator.url
        self.session = requests.Session()
        self.session.headers.update(emulator.auth_headers)

    def upsert(self, model: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.session.post(f"{self.url}/models/{model}/records", json=body, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(f"{self.url}{path}", **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(f"{self.url}{path}", **kwargs)

    def delete_record(self, model: str, record_id: str) -> requests.Response:
        return self.session.delete(self.emulator.record_url(model, record_id))

    def get_record(self, model: str, record_id: str) -> requests.Response:
        return self.session.get(self.emulator.record_url(model, record_id))


@pytest.fixture
def api(gather_emulator: GatherEmulator) -> Iterator[Api]:
    client = Api(gather_emulator)
    yield client
    client.session.close()


ACCOUNT = {"id": "acct-1", "name": "Lovelace, Inc"}
USER = {
    "id": "user-1",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@lovelace.example",
    "account_id": "acct-1",
}
