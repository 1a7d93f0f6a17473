"""Settings as they reach the tap: `--config ENV` typed by the settings schema, `api_url`
checked once when the client is built, plain http and TLS verification."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.tap import TapHubspotGather
from tests.tap.harness import BIN

PREFIX = "TAP_HUBSPOT_GATHER_"


def _env_cli(settings: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`tap-hubspot-gather --config ENV` as Meltano runs it: every setting as env text."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    env = {**clean, **{PREFIX + k.upper(): v for k, v in settings.items()}}
    return subprocess.run(
        [str(BIN / "tap-hubspot-gather"), "--config", "ENV", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
        cwd=cwd,  # away from any project .env the SDK would load
    )


def test_config_env_syncs_with_number_integer_and_boolean_settings_given_as_text(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    hubspot.seed(companies=3, contacts=12)
    archived = hubspot.dump("contacts")[0]["id"]
    hubspot.archive("contacts", archived)
    run = _env_cli(
        {
            "api_url": hubspot.url,
            "access_token": hubspot.token,
            "request_timeout": "60",  # NumberType: the SDK leaves it as text
            "backoff_max_seconds": "0.2",
            "max_retries": "2",
            "search_lag_seconds": "0",
            "include_archived": "true",
        },
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    records = [
        json.loads(line)["record"]
        for line in run.stdout.splitlines()
        if line.startswith("{") and json.loads(line)["type"] == "RECORD"
    ]
    assert archived in {r["id"] for r in records if r.get("archived")}  # the boolean took effect


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("request_timeout", "60", 60.0),
        ("request_timeout", " 2.5 ", 2.5),
        ("max_retries", "3", 3),
        ("requests_per_10_seconds", "150", 150),
        ("include_archived", "true", True),
        ("include_archived", "On", True),
        ("fail_on_missing_id", "0", False),
        ("fail_on_missing_id", "no", False),
        ("api_url", "http://127.0.0.1:1", "http://127.0.0.1:1"),
    ],
)
def test_env_values_take_the_settings_schema_type(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, raw: str, expected: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(PREFIX + name.upper(), raw)
    monkeypatch.setenv(PREFIX + "ACCESS_TOKEN", "token")  # settings are invalid without one
    tap = TapHubspotGather(  # no mapper: nothing to discover, no HubSpot needed
        config={}, parse_env_config=True, validate_config=True, setup_mapper=False
    )
    assert tap.config[name] == expected
    assert type(tap.config[name]) is type(expected)


@pytest.mark.parametrize(
    ("name", "raw"),
    [("request_timeout", "soon"), ("max_retries", "3.5"), ("include_archived", "maybe")],
)
def test_env_values_of_the_wrong_type_are_refused_naming_the_setting(
    hubspot: HubSpotEmulator, tmp_path: Path, name: str, raw: str
) -> None:
    settings = {"api_url": hubspot.url, "access_token": hubspot.token, name: raw}
    run = _env_cli(settings, "--discover", cwd=tmp_path)
    assert run.returncode != 0
    assert name in run.stderr
    assert "Traceback" not in run.stderr


def test_about_offers_no_batch_messages_which_the_tap_would_ignore() -> None:
    result = subprocess.run(
        [str(BIN / "tap-hubspot-gather"), "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    about = json.loads(result.stdout)
    assert "batch" not in about["capabilities"]
    assert "batch_config" not in about["settings"]["properties"]
    assert "activate-version" in about["capabilities"]  # every complete pass ends with one
