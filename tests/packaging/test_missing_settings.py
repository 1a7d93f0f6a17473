"""Without credentials discovery lists HubSpot's default properties (one warning, no request), a
sync stops with one line naming the settings to set (no traceback), and Meltano lists those
settings as required and re-discovers once they are set."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.conftest import BIN, run_meltano

NO_CREDENTIALS = "No HubSpot credentials: set access_token"
ALL_CREDENTIALS = "client_id, client_secret and refresh_token"
CUSTOM_PROPERTY = "gather_signup_date"  # a portal's own contact property (in the emulator)
FRAME_BOX = "╭"  # rich's traceback frame, as Meltano prints it


def tap(config: dict[str, Any], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [str(BIN / "tap-hubspot-gather"), "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def lines_at(level: str, stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if f"| {level}" in line]


def test_discovery_without_credentials_lists_default_properties_with_one_warning(
    hubspot_emulator: HubSpotEmulator, tmp_path: Path
) -> None:
    hubspot_emulator.reset_stats()

    result = tap({"api_url": hubspot_emulator.url}, tmp_path, "--discover")

    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert hubspot_emulator.stats()["total"] == 0
    streams = {s["tap_stream_id"]: s for s in json.loads(result.stdout)["streams"]}
    assert {"firstname", "lastname", "email"} <= set(streams["contacts"]["schema"]["properties"])
    assert CUSTOM_PROPERTY not in streams["contacts"]["schema"]["properties"]
    assert lines_at("ERROR", result.stderr) == []
    (warning,) = lines_at("WARNING", result.stderr)
    assert NO_CREDENTIALS in warning
    assert ALL_CREDENTIALS in warning
    assert "default properties" in warning


def test_sync_without_credentials_is_one_error_line(
    hubspot_emulator: HubSpotEmulator, tmp_path: Path
) -> None:
    hubspot_emulator.reset_stats()

    result = tap({"api_url": hubspot_emulator.url}, tmp_path)

    assert result.returncode == 1
    assert result.stdout == ""  # no SCHEMA, no STATE: nothing reaches a target
    assert "Traceback" not in result.stderr
    assert hubspot_emulator.stats()["total"] == 0
    (line, failed) = lines_at("ERROR", result.stderr)
    assert NO_CREDENTIALS in line
    assert ALL_CREDENTIALS in line
    assert "Config validation failed" in failed


@pytest.mark.parametrize("args", [(), ("--discover",)], ids=["sync", "discovery"])
def test_incomplete_oauth_names_the_missing_settings(tmp_path: Path, args: tuple[str, ...]) -> None:
    config = {"api_url": "http://127.0.0.1:9", "client_id": "id", "refresh_token": "r3fr3sh"}

    result = tap(config, tmp_path, *args)

    assert result.returncode == (0 if args else 1)
    assert "Traceback" not in result.stderr
    line = lines_at("WARNING" if args else "ERROR", result.stderr)[0]
    assert "Incomplete HubSpot OAuth credentials: client_secret not set" in line
    assert "r3fr3sh" not in result.stderr  # no secret value echoed


@pytest.mark.meltano
def test_meltano_config_list_shows_the_required_settings() -> None:
    result = run_meltano("--environment=prod", "config", "list", "tap-hubspot-gather")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Group 1: access_token" in result.stdout
    assert "Group 2: client_id, client_secret, refresh_token" in result.stdout
    assert "access_token (required by group 1)" in result.stdout
    target = run_meltano("--environment=prod", "config", "list", "target-gather")
    assert "Required settings: api_key" in target.stdout, target.stderr[-2000:]


def _select_list(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_meltano(
        "--environment=prod", "select", "tap-hubspot-gather", "--list", "--all", env=env
    )


@pytest.mark.meltano
def test_meltano_select_lists_defaults_without_credentials_then_the_portal_with_them(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    hubspot_emulator.seed(companies=1, contacts=1)
    env = {
        "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": "",
        "TAP_HUBSPOT_GATHER_API_URL": hubspot_emulator.url,
    }

    without = _select_list(env)

    assert without.returncode == 0, without.stderr[-3000:]
    assert "Traceback" not in without.stdout + without.stderr
    assert "contacts.firstname" in without.stdout
    assert f"contacts.{CUSTOM_PROPERTY}" not in without.stdout

    # Setting credentials re-discovers: Meltano keys its catalog cache on the plugin's settings,
    # credentials included (and caches nothing for this project's editable install).
    with_credentials = _select_list(
        {**env, "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": hubspot_emulator.token}
    )

    assert with_credentials.returncode == 0, with_credentials.stderr[-3000:]
    assert "contacts.firstname" in with_credentials.stdout
    assert f"contacts.{CUSTOM_PROPERTY}" in with_credentials.stdout


@pytest.mark.meltano
@pytest.mark.parametrize(
    "command",
    [("invoke", "tap-hubspot-gather"), ("run", "tap-hubspot-gather", "target-gather")],
    ids=["invoke", "run"],
)
def test_meltano_sync_without_credentials_is_one_line(
    hubspot_emulator: HubSpotEmulator, state_backend: dict[str, str], command: tuple[str, ...]
) -> None:
    env = {
        **state_backend,
        "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": "",
        "TAP_HUBSPOT_GATHER_API_URL": hubspot_emulator.url,
        "TARGET_GATHER_API_URL": "http://127.0.0.1:9",  # never reached: no records
        "TARGET_GATHER_API_KEY": "unused-key",
    }

    result = run_meltano("--environment=prod", *command, env=env)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    assert FRAME_BOX not in output
    assert '"type": "SCHEMA"' not in result.stdout
    # `meltano invoke` relays the tap's log lines as its own; `meltano run` names the plugin.
    source = "meltano" if command[0] == "invoke" else "tap-hubspot-gather"
    tap_errors = [line for line in output.splitlines() if f"[error    ] {source} " in line]
    assert len(tap_errors) == 2, output[-3000:]  # the tap's line, then singer-sdk's summary
    assert NO_CREDENTIALS in tap_errors[0]
    assert "Config validation failed" in tap_errors[1]
