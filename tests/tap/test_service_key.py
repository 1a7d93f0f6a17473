"""A Service Key (`pat-...`, scoped) as the tap's access_token, against the emulator over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.client import TAP_SCOPES
from tap_hubspot_gather.errors import HubSpotAuthError
from tests.tap.harness import run_tap


def test_a_sync_runs_with_a_service_key_holding_the_four_scopes(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=4, contacts=30)
    key = hubspot.create_service_key(list(TAP_SCOPES))
    assert key.startswith("pat-")

    run = run_tap({**config, "access_token": key})

    assert sorted(run.ids("contacts")) == sorted(c["id"] for c in hubspot.dump("contacts"))
    assert sorted(run.ids("companies")) == sorted(c["id"] for c in hubspot.dump("companies"))


def test_a_key_without_a_scope_fails_naming_it_and_where_to_add_it(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=2, contacts=5)
    key = hubspot.create_service_key(["crm.objects.contacts.read", "crm.schemas.contacts.read"])

    with pytest.raises(HubSpotAuthError) as caught:
        run_tap({**config, "access_token": key})

    message = str(caught.value)
    assert "HTTP 403 (MISSING_SCOPES)" in message
    assert "crm.objects.companies.read" in message
    assert "Service Key" in message
    assert key not in message
    assert caught.value.missing_scopes


def test_a_deleted_key_is_one_line_saying_to_set_access_token_again(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    key = hubspot.create_service_key(list(TAP_SCOPES))
    hubspot.delete_service_key(key)
    with pytest.raises(HubSpotAuthError, match=r"HTTP 401.*set access_token") as caught:
        run_tap({**config, "access_token": key})
    assert key not in str(caught.value)
