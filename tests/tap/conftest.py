"""Fixtures for the tap's tests: an unlimited emulator and a config pointing at it."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator


@pytest.fixture
def hubspot(hubspot_emulator: HubSpotEmulator) -> HubSpotEmulator:
    """The emulator without rate limits (tests about limits set their own)."""
    hubspot_emulator.unlimit()
    return hubspot_emulator


@pytest.fixture
def config(hubspot: HubSpotEmulator) -> dict[str, Any]:
    """Tap settings for the emulator: no search lag, quick retries, no search throttle; no
    lookback and no archived pass, polling (tests of those defaults, and of the journal, set
    them back)."""
    return {
        "api_url": hubspot.url,
        "access_token": hubspot.token,
        "search_lag_seconds": 0,
        "lookback_seconds": 0,
        "include_archived": False,
        "reconcile": "never",
        "relink_sweep": False,
        "change_capture": "poll",
        "max_retries": 4,
        "backoff_max_seconds": 0.2,
        # The emulator is unlimited here; HubSpot's 5 per second is tested with limits on.
        "searches_per_second": 100,
    }


@pytest.fixture
def oauth_config(hubspot: HubSpotEmulator, config: dict[str, Any]) -> dict[str, Any]:
    """The tap settings with the emulator's OAuth app (install refresh token) instead of the
    access token."""
    app = hubspot.oauth_client
    settings = {k: v for k, v in config.items() if k != "access_token"}
    return {
        **settings,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "refresh_token": app.refresh_token,
    }
