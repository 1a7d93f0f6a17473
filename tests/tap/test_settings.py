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


def test_env_reads_the_working_directory_dotenv_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        f"{PREFIX}ACCESS_TOKEN=from-dotenv\n{PREFIX}MAX_RETRIES=3\n{PREFIX}REQUEST_TIMEOUT=9\n"
    )
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.setenv(PREFIX + "REQUEST_TIMEOUT", "2.5")

    tap = TapHubspotGather(
        config={"max_retries": 7}, parse_env_config=True, validate_config=True, setup_mapper=False
    )

    assert tap.config["access_token"] == "from-dotenv"
    assert tap.config["max_retries"] == 3  # .env is read, typed, and beats the config file
    assert tap.config["request_timeout"] == 2.5  # the environment beats .env
    assert PREFIX + "ACCESS_TOKEN" not in os.environ  # read, not exported


def test_env_object_settings_are_json_and_take_effect(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    hubspot.seed(companies=2, contacts=3)
    settings = {
        "api_url": hubspot.url,
        "access_token": hubspot.token,
        "search_lag_seconds": "0",
        "stream_maps": json.dumps({"companies": None, "contacts": {"__alias__": "people"}}),
    }

    run = _env_cli(settings, cwd=tmp_path)

    assert run.returncode == 0, run.stderr[-2000:]
    streams = {json.loads(line).get("stream") for line in run.stdout.splitlines()}
    assert "people" in streams
    assert "companies" not in streams
    assert "contacts" not in streams


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("stream_maps", "{companies: null}", "STREAM_MAPS is not valid JSON"),
        ("max_retries", "12abc", "max_retries"),
    ],
)
def test_malformed_env_values_stop_a_sync_with_a_clear_error(
    hubspot: HubSpotEmulator, tmp_path: Path, name: str, raw: str, expected: str
) -> None:
    settings = {"api_url": hubspot.url, "access_token": hubspot.token, name: raw}

    run = _env_cli(settings, cwd=tmp_path)

    assert run.returncode == 1
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "| ERROR" in line]
    assert expected in errors[0]
    assert hubspot.stats()["total"] == 0


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
