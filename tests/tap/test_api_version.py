"""`api_version` decides every CRM path of a sync, against the emulator over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.errors import HubSpotError
from tap_hubspot_gather.versions import ALLOWED_API_VERSIONS
from tests.tap.harness import run_cli, run_tap

# Route templates as the emulator counts them, by path family.
DATE_ROUTES = ("/crm/objects/{version}/", "/crm/properties/{version}/")
LEGACY_ROUTES = ("/crm/v3/objects/", "/crm/v3/properties/")


def crm_routes(hubspot: HubSpotEmulator) -> set[str]:
    """The CRM routes the sync called (method and template)."""
    return {r for r in hubspot.stats()["routes"] if " /crm/" in r}


@pytest.mark.parametrize("version", ["2026-09", "2026-03"])
def test_a_date_version_is_used_for_every_crm_call(
    hubspot: HubSpotEmulator, config: dict[str, Any], version: str
) -> None:
    hubspot.seed(companies=30, contacts=250)  # several list pages: paging is followed to the end
    expected = {c["id"] for c in hubspot.dump("contacts")}

    run = run_tap({**config, "api_version": version, "reconcile": "always"})

    assert set(run.ids("contacts")) == expected
    routes = crm_routes(hubspot)
    assert routes
    assert all(any(f in r for f in DATE_ROUTES) for r in routes), routes
    # The emulator answers 404 for a version segment it does not serve: none here.
    statuses = {s for r in hubspot.stats()["routes"].values() for s in r["by_status"]}
    assert statuses == {"200"}, statuses


def test_the_default_is_2026_09_and_its_empty_last_paging_ends_the_list(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    # 2026-09's last page carries `"paging": {}`; the emulator sends it on that version.
    hubspot.seed(companies=5, contacts=101)
    run = run_tap({**config, "reconcile": "always"})
    assert len(run.ids("contacts")) == 101
    assert len(set(run.ids("contacts"))) == 101
    lists = hubspot.stats()["routes"]["GET /crm/objects/{version}/{object_type}"]["total"]
    assert lists == 2 + 1  # contacts: 100 + 1; companies: 5


@pytest.mark.hubspot_emulator(legacy_apis=True)
def test_v3_stays_available_as_the_explicit_legacy_choice(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=5, contacts=20)
    run = run_tap({**config, "api_version": "v3", "reconcile": "always"})
    assert len(run.ids("contacts")) == 20
    routes = crm_routes(hubspot)
    assert routes
    assert all(any(f in r for f in LEGACY_ROUTES) for r in routes), routes


def test_v3_against_a_hubspot_that_retired_it_fails_naming_api_version(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=2, contacts=3)
    with pytest.raises(HubSpotError) as caught:
        run_tap({**config, "api_version": "v3"})
    message = str(caught.value)
    assert "HTTP 404" in message
    assert "/crm/v3/" in message
    assert "api_version" in message


def test_unknown_record_fields_such_as_warnings_are_tolerated(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.set_config(record_warnings=True)
    hubspot.seed(companies=3, contacts=10)
    run = run_tap({**config, "reconcile": "always"})
    assert len(run.ids("contacts")) == 10
    assert all("warnings" not in r for r in run.records["contacts"])


def test_an_unknown_api_version_is_refused_in_one_line_naming_the_allowed_values(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    config_path = tmp_path / "config.json"
    settings = {"api_url": hubspot.url, "access_token": hubspot.token, "api_version": "2025-09"}
    config_path.write_text(json.dumps(settings))

    run = run_cli(config_path)

    assert run.returncode == 1
    assert run.stdout == ""
    # singer-sdk's two lines: the problem, then "Config validation failed".
    errors = [line for line in run.stderr.splitlines() if "| ERROR" in line]
    named = [line for line in errors if "api_version" in line]
    assert len(named) == 1, run.stderr
    for allowed in ALLOWED_API_VERSIONS:
        assert repr(allowed) in named[0]
    assert "Traceback" not in run.stderr
    assert hubspot.stats()["total"] == 0


def test_a_client_built_from_settings_refuses_an_unknown_api_version(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    with pytest.raises(HubSpotError, match=r"api_version 'v4'.*2026-09, 2026-03, v3"):
        HubSpotClient.from_config({**config, "api_version": "v4"})
    assert HubSpotClient.from_config(config).paths.version.name == "2026-09"
