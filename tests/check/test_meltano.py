"""`meltano invoke tap-hubspot-gather:check`: the plugin command in meltano.yml, real Meltano."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.conftest import run_meltano

pytestmark = [pytest.mark.e2e, pytest.mark.meltano]
MELTANO_TIMEOUT_S = 180


def _env(hubspot: HubSpotEmulator, tmp_path: Path, **settings: str) -> dict[str, str]:
    """Settings as env vars, as in production; a private Meltano system database."""
    return {
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "MELTANO_STATE_BACKEND_URI": (tmp_path / "state").as_uri(),
        "TAP_HUBSPOT_GATHER_API_URL": hubspot.url,
        "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": hubspot.token,
        **{f"TAP_HUBSPOT_GATHER_{k.upper()}": v for k, v in settings.items()},
    }


def test_meltano_invoke_check_reports_a_ready_portal(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    """As users type it: the demo environment's ID properties, settings from Meltano."""
    (tmp_path / "state").mkdir()
    company = hubspot.create("companies", {"name": "Acme", "gather_account_id": "A-1"})["id"]
    hubspot.create(
        "contacts", {"email": "a@example.com", "gather_user_id": "U-1"}, company_ids=[company]
    )

    result = run_meltano(
        "invoke",
        "tap-hubspot-gather:check",
        env=_env(hubspot, tmp_path),
        timeout=MELTANO_TIMEOUT_S,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "ID property account_id_property = gather_account_id" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == (
        "READY: every record has a unique ID (companies: 1, contacts: 1)."
    )
    assert hubspot.token not in result.stdout + result.stderr


def test_meltano_invoke_check_json_fails_a_portal_with_problems(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    """Extra arguments reach the command; settings from the environment override meltano.yml."""
    (tmp_path / "state").mkdir()
    company = hubspot.create("companies", {"name": "Acme", "legacy_account_ref": "L-1"})["id"]
    hubspot.create("contacts", {"email": "a@example.com"}, company_ids=[company])
    hubspot.create("contacts", {"email": " A@Example.com"})
    env = _env(
        hubspot, tmp_path, account_id_property="legacy_account_ref", user_id_property="email"
    )

    result = run_meltano(
        "invoke",
        "tap-hubspot-gather:check",
        "--format",
        "json",
        "--quiet",
        env=env,
        timeout=MELTANO_TIMEOUT_S,
    )

    assert result.returncode == 1, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["ready"] is False
    assert report["objects"]["companies"]["id_property"]["name"] == "legacy_account_ref"
    groups = report["objects"]["contacts"]["duplicates"]["groups"]
    assert [(g["value"], g["count"]) for g in groups] == [("a@example.com", 2)]
    codes = {(p["object"], p["code"]) for p in report["problems"]}
    assert ("contacts", "duplicate_ids") in codes
    assert ("contacts", "contacts_without_company") in codes
    assert ("companies", "id_property_not_unique") in codes


def test_with_an_argument_a_missing_id_property_is_reported_not_a_discovery_crash(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    """Meltano runs the tap's discovery before a plugin command invoked without arguments,
    and discovery refuses an ID property that does not exist; any argument skips it (README)."""
    (tmp_path / "state").mkdir()
    hubspot.create("companies", {"name": "Acme"})
    env = _env(hubspot, tmp_path, account_id_property="gather_acct", user_id_property="vid")

    result = run_meltano(
        "invoke", "tap-hubspot-gather:check", "--quiet", env=env, timeout=MELTANO_TIMEOUT_S
    )

    assert result.returncode == 1, result.stderr[-3000:]
    assert "property: DOES NOT EXIST in HubSpot" in result.stdout
    assert "Set account_id_property to the internal name" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("NOT READY: 1 error")
