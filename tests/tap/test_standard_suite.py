"""The singer-sdk standard tap test suite, against a seeded HubSpot emulator.

The SDK builds its test class at import time and discovers streams while doing so, so the
emulator must already be serving when this module is imported: it is started here and
stopped by a module-scoped fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.tap import TapHubspotGather

EMULATOR = HubSpotEmulator.start()
EMULATOR.unlimit()
EMULATOR.seed(companies=8, contacts=30, custom_properties=3)

CONFIG = {
    "api_url": EMULATOR.url,
    "access_token": EMULATOR.token,
    "search_lag_seconds": 0,
    "max_retries": 2,
    "backoff_max_seconds": 0.1,
    "searches_per_second": 100,
    "account_id_property": "gather_account_id",
    "user_id_property": "email",
}


@pytest.fixture(scope="module", autouse=True)
def _stop_emulator() -> Iterator[None]:
    yield
    EMULATOR.stop()


TestTapHubspotGather = get_tap_test_class(
    TapHubspotGather,
    config=CONFIG,
    suite_config=SuiteConfig(max_records_limit=25),
    parse_env_config=False,
)
