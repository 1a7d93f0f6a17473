"""Rate limits, their headers and bodies, and the 414 URL-length rule."""

from __future__ import annotations

import time

import requests

from emulators.hubspot.pytest_plugin import HubSpotEmulator

CONTACTS = "/crm/v3/objects/contacts"


def test_burst_limit_headers_count_down_then_429_ten_secondly(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    emulator = hubspot_emulator
    emulator.set_config(burst_limit=3, burst_window_ms=60_000)
    session = requests.Session()
    session.headers.update(emulator.auth_headers)
    remaining = []
    for _ in range(3):
        response = session.get(emulator.url + CONTACTS, timeout=10)
        assert response.status_code == 200
        assert response.headers["X-HubSpot-RateLimit-Max"] == "3"
        assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "60000"
        assert "X-HubSpot-RateLimit-Daily" in response.headers
        remaining.append(response.headers["X-HubSpot-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    refused = session.get(emulator.url + CONTACTS, timeout=10)
    assert refused.status_code == 429
    body = refused.json()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert "Retry-After" not in refused.headers
    emulator.set_config(retry_after=True)
    with_retry = session.get(emulator.url + CONTACTS, timeout=10)
    assert with_retry.status_code == 429
    assert 1 <= int(with_retry.headers["Retry-After"]) <= 60


def test_burst_window_rolls(hubspot_emulator: HubSpotEmulator) -> None:
    emulator = hubspot_emulator
    emulator.set_config(burst_limit=2, burst_window_ms=300)
    headers = emulator.auth_headers
    codes = [
        requests.get(emulator.url + CONTACTS, headers=headers, timeout=10).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    time.sleep(0.35)
    assert requests.get(emulator.url + CONTACTS, headers=headers, timeout=10).status_code == 200


def test_search_has_its_own_per_second_limit_and_no_headers(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    emulator = hubspot_emulator
    emulator.set_config(search_per_second=2, burst_limit=1, burst_window_ms=60_000)
    url = emulator.url + CONTACTS + "/search"
    responses = [
        requests.post(url, json={}, headers=emulator.auth_headers, timeout=10) for _ in range(3)
    ]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert not any(h.startswith("X-HubSpot-RateLimit") for r in responses for h in r.headers)
    assert responses[2].json()["message"] == "You have reached your secondly limit."
    # Search did not consume the burst budget of 1.
    assert (
        requests.get(emulator.url + CONTACTS, headers=emulator.auth_headers, timeout=10).status_code
        == 200
    )


def test_daily_limit(hubspot_emulator: HubSpotEmulator) -> None:
    emulator = hubspot_emulator
    emulator.set_config(daily_limit=2)
    codes = [
        requests.get(emulator.url + CONTACTS, headers=emulator.auth_headers, timeout=10)
        for _ in range(3)
    ]
    assert codes[1].headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert codes[2].status_code == 429
    assert codes[2].json()["policyName"] == "DAILY"


def test_long_urls_answer_414_with_hubspots_html_page(emulator: HubSpotEmulator) -> None:
    names = ",".join(f"custom_property_{i:04d}" for i in range(500))
    url = f"{emulator.url}{CONTACTS}?properties={names}"
    assert len(url) > 8192
    response = requests.get(url, headers=emulator.auth_headers, timeout=10)
    assert response.status_code == 414
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<h1>414 Request-URI Too Large</h1>" in response.text
    emulator.set_config(max_url_length=20_000)
    assert requests.get(url, headers=emulator.auth_headers, timeout=10).status_code == 200


def test_414_counts_in_stats(emulator: HubSpotEmulator) -> None:
    emulator.set_config(max_url_length=50)
    requests.get(
        f"{emulator.url}{CONTACTS}?properties={'x' * 60}", headers=emulator.auth_headers, timeout=10
    )
    routes = emulator.stats()["routes"]
    assert routes["GET /crm/v3/objects/{object_type}"]["by_status"] == {"414": 1}
