"""The retirement switch: with the legacy APIs retired, `/crm/v3/*`, `/crm/v4/associations/*`
and `/oauth/v1/*` answer HubSpot's sunset 404 naming their date-versioned replacement, while
the date-versioned APIs and the consent page keep working; with them on, both families work."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from emulators.hubspot import pytest_plugin
from emulators.hubspot.pytest_plugin import HubSpotEmulator

TIMEOUT_S = 10
LEGACY_CALLS = [
    ("GET", "/crm/v3/objects/contacts", None, "/crm/objects/2026-09/contacts"),
    (
        "GET",
        "/crm/v3/objects/companies/{company}",
        None,
        "/crm/objects/2026-09/companies/{company}",
    ),
    (
        "POST",
        "/crm/v3/objects/contacts/search",
        {"limit": 1},
        "/crm/objects/2026-09/contacts/search",
    ),
    (
        "POST",
        "/crm/v3/objects/contacts/batch/read",
        {"inputs": [{"id": "{contact}"}]},
        "/crm/objects/2026-09/contacts/batch/read",
    ),
    ("GET", "/crm/v3/properties/contacts", None, "/crm/properties/2026-09/contacts"),
    (
        "POST",
        "/crm/v4/associations/contacts/companies/batch/read",
        {"inputs": [{"id": "{contact}"}]},
        "/crm/associations/2026-09/contacts/companies/batch/read",
    ),
]


def _ids(emulator: HubSpotEmulator) -> dict[str, str]:
    emulator.unlimit()
    emulator.seed(companies=2, contacts=3)
    return {
        "contact": emulator.dump("contacts")[0]["id"],
        "company": emulator.dump("companies")[0]["id"],
    }


def _call(emulator: HubSpotEmulator, method: str, path: str, body: Any) -> requests.Response:
    return requests.request(
        method, emulator.url + path, json=body, headers=emulator.auth_headers, timeout=TIMEOUT_S
    )


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _assert_retired(answer: requests.Response, replacement: str) -> None:
    assert answer.status_code == 404, answer.text
    body = answer.json()
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["subCategory"] == "API_RETIRED"
    assert body["links"]["replacement"] == replacement
    assert replacement in body["message"]
    assert body["correlationId"]


@pytest.mark.hubspot_emulator(legacy_apis=False)
def test_retired_crm_families_answer_404_naming_the_replacement_which_works(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    ids = _ids(hubspot_emulator)
    for method, legacy, body, replacement in LEGACY_CALLS:
        legacy_path, new_path = _fill(legacy, ids), _fill(replacement, ids)
        payload = _fill(body, ids)
        _assert_retired(_call(hubspot_emulator, method, legacy_path, payload), new_path)
        answer = _call(hubspot_emulator, method, new_path, payload)
        assert answer.status_code == 200, (new_path, answer.text)
    # Retired before authentication: no credential needed to learn it is gone.
    bare = requests.get(hubspot_emulator.url + "/crm/v3/objects/contacts", timeout=TIMEOUT_S)
    _assert_retired(bare, "/crm/objects/2026-09/contacts")


@pytest.mark.hubspot_emulator(legacy_apis=False)
def test_retired_oauth_v1_answers_404_while_the_2026_03_endpoints_and_consent_work(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    client = hubspot_emulator.oauth_client
    form = {
        "grant_type": "refresh_token",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "refresh_token": client.refresh_token,
    }
    url = hubspot_emulator.url
    v1 = requests.post(url + "/oauth/v1/token", data=form, timeout=TIMEOUT_S)
    _assert_retired(v1, "/oauth/2026-03/token")
    new = requests.post(url + "/oauth/2026-03/token", data=form, timeout=TIMEOUT_S)
    assert new.status_code == 200, new.text
    token = new.json()["access_token"]
    info = requests.get(url + f"/oauth/v1/access-tokens/{token}", timeout=TIMEOUT_S)
    _assert_retired(info, "/oauth/2026-03/token/introspect")
    assert token not in info.text
    revoke = requests.delete(url + f"/oauth/v1/refresh-tokens/{client.refresh_token}", timeout=5)
    _assert_retired(revoke, "/oauth/2026-03/token/revoke")
    assert client.refresh_token not in revoke.text
    consent = requests.get(
        url + "/oauth/authorize",
        params={
            "client_id": client.client_id,
            "redirect_uri": "http://localhost:1/cb",
            "scope": "crm.objects.contacts.read",
        },
        timeout=TIMEOUT_S,
    )
    assert consent.status_code == 200


@pytest.mark.hubspot_emulator(legacy_apis=True)
def test_with_legacy_on_both_families_work(hubspot_emulator: HubSpotEmulator) -> None:
    ids = _ids(hubspot_emulator)
    for method, legacy, body, replacement in LEGACY_CALLS:
        for path in (legacy, replacement):
            answer = _call(hubspot_emulator, method, _fill(path, ids), _fill(body, ids))
            assert answer.status_code == 200, (path, answer.text)


def test_the_switch_can_be_flipped_at_run_time(emulator: HubSpotEmulator) -> None:
    path = "/crm/v3/objects/contacts"
    assert _call(emulator, "GET", path, None).status_code == 200
    emulator.set_config(legacy_apis=False)
    _assert_retired(_call(emulator, "GET", path, None), "/crm/objects/2026-09/contacts")
    emulator.set_config(legacy_apis=True)
    assert _call(emulator, "GET", path, None).status_code == 200


def test_retired_answers_are_counted_in_the_stats(emulator: HubSpotEmulator) -> None:
    emulator.set_config(legacy_apis=False)
    _call(emulator, "GET", "/crm/v3/objects/contacts", None)
    routes = emulator.stats()["routes"]
    assert any(
        "/crm/v3/objects" in route and counts["by_status"].get("404") == 1
        for route, counts in routes.items()
    ), routes


def test_the_process_fixture_and_cli_take_the_option(
    hubspot_emulator_process: Callable[..., Any],
) -> None:
    retired = hubspot_emulator_process(legacy_apis=False)
    answer = requests.get(
        retired.url + "/crm/v3/objects/contacts", headers=retired.auth_headers, timeout=TIMEOUT_S
    )
    _assert_retired(answer, "/crm/objects/2026-09/contacts")
    assert retired.config()["legacy_apis"] is False


def test_the_fixture_default_is_one_named_constant(
    hubspot_emulator_factory: Callable[..., HubSpotEmulator],
) -> None:
    """The factory follows `hubspot_emulator_defaults` (legacy on in this directory); without
    options `HubSpotEmulator.start` follows `DEFAULT_LEGACY_APIS`."""
    assert hubspot_emulator_factory().config()["legacy_apis"] is True
    started = HubSpotEmulator.start()
    try:
        assert started.config()["legacy_apis"] is pytest_plugin.DEFAULT_LEGACY_APIS
    finally:
        started.stop()


def test_unknown_marker_options_are_refused(tmp_path: Path) -> None:
    (tmp_path / "test_marked.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.hubspot_emulator(legacy=False)\n"
        "def test_x(hubspot_emulator):\n"
        "    pass\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "emulators.hubspot.pytest_plugin", "-p",
         "no:randomly", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert run.returncode != 0
    assert "unknown hubspot_emulator options ['legacy']" in run.stdout + run.stderr
