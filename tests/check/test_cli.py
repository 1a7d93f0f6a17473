"""The command itself: JSON schema, exit codes, settings sources, progress, limits, secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.check.render import report_json_schema
from tests.check.conftest import CheckRun

WRONG_TOKEN = "pat-na1-not-the-right-token-4242"


def _module(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m tap_hubspot_gather.check` as a child process (the meltano.yml command)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TAP_HUBSPOT_GATHER_")}
    return subprocess.run(
        [sys.executable, "-m", "tap_hubspot_gather.check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**clean, **(env or {})},
    )


def test_json_report_matches_its_published_schema(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
) -> None:
    hubspot.seed(companies=10, contacts=60, seed=5, duplicate_share=0.5)
    validator = jsonschema.Draft202012Validator(report_json_schema())
    for ids in (
        {"account_id_property": "legacy_account_ref", "user_id_property": "email"},
        {"account_id_property": "companyId", "user_id_property": "vid"},
        {"account_id_property": "nope", "user_id_property": "legacy_user_ref"},
    ):
        run = run_check({**settings, **ids}, "--format", "json", "--quiet")
        validator.validate(run.report)
        assert run.code == run.report["exit_code"]
        assert run.stderr == ""  # --quiet: the JSON on stdout is all there is


def test_json_schema_flag_prints_the_schema() -> None:
    result = _module("--json-schema")

    assert result.returncode == 0
    assert json.loads(result.stdout) == report_json_schema()


def test_module_reads_env_settings_with_numbers_as_meltano_exports_them(
    hubspot: HubSpotEmulator,
) -> None:
    """Meltano exports every setting as text; the SDK's own ENV parser refuses `60` for a number."""
    company = hubspot.create("companies", {"gather_account_id": "A-1"})["id"]
    hubspot.create("contacts", {"gather_user_id": "U-1"}, company_ids=[company])
    env = {
        "TAP_HUBSPOT_GATHER_API_URL": hubspot.url,
        "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": hubspot.token,
        "TAP_HUBSPOT_GATHER_ACCOUNT_ID_PROPERTY": "gather_account_id",
        "TAP_HUBSPOT_GATHER_USER_ID_PROPERTY": "gather_user_id",
        "TAP_HUBSPOT_GATHER_REQUEST_TIMEOUT": "60",
        "TAP_HUBSPOT_GATHER_BACKOFF_MAX_SECONDS": "0.5",
        "TAP_HUBSPOT_GATHER_MAX_RETRIES": "2",
        "TAP_HUBSPOT_GATHER_INCLUDE_ARCHIVED": "false",
    }

    result = _module("--config", "ENV", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("READY")


def test_later_config_sources_win(
    hubspot: HubSpotEmulator, settings: dict[str, Any], tmp_path: Path
) -> None:
    hubspot.create("companies", {"gather_account_id": "A-1"})
    first = tmp_path / "first.json"
    first.write_text(json.dumps({**settings, "account_id_property": "does_not_exist"}))
    env = {
        "TAP_HUBSPOT_GATHER_ACCOUNT_ID_PROPERTY": "gather_account_id",
        "TAP_HUBSPOT_GATHER_USER_ID_PROPERTY": "vid",
    }

    result = _module("--config", str(first), "--config", "ENV", "--format", "json", env=env)

    report = json.loads(result.stdout)
    assert report["objects"]["companies"]["id_property"]["name"] == "gather_account_id"
    assert report["ready"] is True


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ({"TAP_HUBSPOT_GATHER_MAX_RETRIES": "many"}, "max_retries"),
        ({}, "No HubSpot credentials"),
    ],
)
def test_unusable_settings_exit_2_with_what_to_fix(
    hubspot: HubSpotEmulator, setup: dict[str, str], expected: str
) -> None:
    env = {"TAP_HUBSPOT_GATHER_API_URL": hubspot.url, **setup}
    if "MAX_RETRIES" in str(setup):
        env["TAP_HUBSPOT_GATHER_ACCESS_TOKEN"] = WRONG_TOKEN

    result = _module(env=env)

    assert result.returncode == 2
    assert result.stdout == ""
    assert "could not check the portal" in result.stderr
    assert expected in result.stderr
    assert "Fix them in meltano.yml, .env or the config file." in result.stderr
    assert WRONG_TOKEN not in result.stderr


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = _module("--config", str(tmp_path / "nope.json"))

    assert result.returncode == 2
    assert "nope.json does not exist" in result.stderr


def test_a_rejected_token_exits_2_and_never_appears_in_output(
    hubspot: HubSpotEmulator, settings: dict[str, Any], run_check: Callable[..., CheckRun]
) -> None:
    run = run_check({**settings, "access_token": WRONG_TOKEN})

    assert run.code == 2
    assert "401" in run.stderr
    assert "access_token" in run.stderr
    assert WRONG_TOKEN not in run.stderr + run.stdout


def test_progress_lines_go_to_stderr(
    hubspot: HubSpotEmulator, settings: dict[str, Any], run_check: Callable[..., CheckRun]
) -> None:
    hubspot.seed(companies=5, contacts=350, seed=2)
    settings |= {"account_id_property": "companyId", "user_id_property": "email"}

    run = run_check(settings, "--format", "json", "--progress-interval", "0")

    json.loads(run.stdout)  # stdout stays pure JSON
    lines = [line for line in run.stderr.splitlines() if line.startswith("check: contacts")]
    assert lines[0] == "check: contacts: scanning (about 350 records)"
    assert any(line.startswith("check: contacts: 100 of 350 scanned (29%), ") for line in lines), (
        lines
    )
    assert "check: contacts: 350 of 350 scanned (100%)" in "\n".join(lines)
    assert lines[-1] == "check: contacts: 350 records scanned"


def test_stays_within_the_portal_rate_limits(
    hubspot_emulator: HubSpotEmulator, run_check: Callable[..., CheckRun]
) -> None:
    """The check uses the tap's client: it learns the burst limit and never provokes a 429."""
    hubspot_emulator.seed(companies=300, contacts=1200, seed=4)
    hubspot_emulator.set_config(burst_limit=6, burst_window_ms=1000, search_per_second=2)
    hubspot_emulator.reset_stats()
    settings = {
        "api_url": hubspot_emulator.url,
        "access_token": hubspot_emulator.token,
        "account_id_property": "gather_account_id",
        "user_id_property": "gather_user_id",
        "searches_per_second": 2,
        "max_retries": 0,  # a 429 would fail the run
    }

    run = run_check(settings, "--format", "json", "--quiet")

    assert run.code == 1, run.stderr  # seeded data has missing IDs; the point is it finished
    stats = hubspot_emulator.stats()
    statuses = {status for route in stats["routes"].values() for status in route["by_status"]}
    assert statuses == {"200"}, stats
    assert run.report["objects"]["contacts"]["records"]["total"] == 1200


def test_an_api_url_without_scheme_exits_2_at_once(hubspot: HubSpotEmulator) -> None:
    """The client would retry an unusable URL for minutes; the check refuses it up front."""
    env = {
        "TAP_HUBSPOT_GATHER_API_URL": hubspot.url.removeprefix("http://"),
        "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": hubspot.token,
    }

    result = _module(env=env)

    assert result.returncode == 2
    assert "is not a full http(s) URL" in result.stderr
    assert hubspot.stats()["total"] == 0


def test_companies_are_listed_when_search_cannot_count_them(
    hubspot: HubSpotEmulator, settings: dict[str, Any], run_check: Callable[..., CheckRun]
) -> None:
    hubspot.seed(companies=7, contacts=5, seed=1)
    hubspot.set_faults([{"path": "/search$", "status": 400, "times": None}])
    settings |= {"account_id_property": "companyId", "user_id_property": "vid"}

    run = run_check(settings, "--format", "json", "--quiet")

    companies = run.report["objects"]["companies"]["records"]
    assert companies["total"] == companies["with_id"] == 7
    assert companies["scanned"] is True
    assert run.report["objects"]["contacts"]["records"]["total"] == 5
