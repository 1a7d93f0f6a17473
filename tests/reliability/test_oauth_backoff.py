"""The OAuth token refresh backs off like the CRM client: Retry-After when HubSpot gives one,
else jittered exponential backoff; never three attempts in the same instant."""

from __future__ import annotations

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.auth import TOKEN_BACKOFF_MAX_S, TOKEN_PATH, OAuthRefresher
from tap_hubspot_gather.errors import HubSpotError


def refresher(hubspot: HubSpotEmulator, slept: list[float]) -> OAuthRefresher:
    app = hubspot.oauth_client
    return OAuthRefresher(
        hubspot.url, app.client_id, app.client_secret, app.refresh_token, sleep=slept.append
    )


def test_a_brief_token_endpoint_outage_is_waited_out_with_backoff(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    hubspot_emulator.set_faults([{"path": TOKEN_PATH, "status": 503, "times": 2}])
    slept: list[float] = []
    assert refresher(hubspot_emulator, slept).token()
    assert len(slept) == 2
    assert all(0 < s <= TOKEN_BACKOFF_MAX_S for s in slept)


def test_a_refused_refresh_waits_the_retry_after_hubspot_asks_for(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    hubspot_emulator.set_faults(
        [{"path": TOKEN_PATH, "status": 429, "retry_after": "3", "times": 1}]
    )
    slept: list[float] = []
    assert refresher(hubspot_emulator, slept).token()
    assert slept == [3.0]


def test_an_outage_longer_than_the_retries_fails_naming_what_to_check(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    hubspot_emulator.set_faults([{"path": TOKEN_PATH, "status": 503, "times": None}])
    slept: list[float] = []
    with pytest.raises(HubSpotError, match=r"after 3 attempts.*Check api_url"):
        refresher(hubspot_emulator, slept).token()
    assert len(slept) == 2
