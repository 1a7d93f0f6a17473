"""Deterministic fault injection per route: statuses with HubSpot bodies, latency, drops."""

from __future__ import annotations

import time

import pytest
import requests

from emulators.hubspot.pytest_plugin import HubSpotEmulator

CONTACTS = "/crm/v3/objects/contacts"


def test_scripted_statuses_fire_in_order_with_hubspot_bodies(emulator: HubSpotEmulator) -> None:
    emulator.set_faults(
        [
            {"path": "/search$", "status": 429, "skip": 1, "times": 1, "retry_after": 2},
            {"path": "/objects/contacts$", "method": "GET", "status": 503, "times": 2},
        ]
    )
    url = emulator.url + CONTACTS
    headers = emulator.auth_headers
    codes = [requests.get(url, headers=headers, timeout=10).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    searches = [
        requests.post(url + "/search", json={}, headers=headers, timeout=10) for _ in range(3)
    ]
    assert [r.status_code for r in searches] == [200, 429, 200]
    assert searches[1].headers["Retry-After"] == "2"
    assert searches[1].json()["policyName"] == "TEN_SECONDLY_ROLLING"
    rules = emulator.faults()
    assert [r["fired"] for r in rules] == [1, 2]
    stats = emulator.stats()["routes"]
    assert stats["GET /crm/v3/objects/{object_type}"]["by_status"] == {"200": 1, "503": 2}


def test_latency_and_dropped_connections(emulator: HubSpotEmulator) -> None:
    url = emulator.url + CONTACTS
    emulator.set_faults([{"path": "contacts", "action": "latency", "delay_s": 0.3}])
    started = time.monotonic()
    assert requests.get(url, headers=emulator.auth_headers, timeout=10).status_code == 200
    assert time.monotonic() - started >= 0.3
    emulator.set_faults([{"path": "contacts", "action": "drop"}])
    with pytest.raises(requests.ConnectionError):
        requests.get(url, headers=emulator.auth_headers, timeout=10)
    assert requests.get(url, headers=emulator.auth_headers, timeout=10).status_code == 200


def test_malformed_fault_rules_are_refused_with_a_reason(emulator: HubSpotEmulator) -> None:
    response = requests.put(
        emulator.url + "/_emulator/faults", json=[{"action": "explode"}], timeout=10
    )
    assert response.status_code == 400
    assert "fault action" in response.json()["error"]
    emulator.clear_faults()
    assert emulator.faults() == []
