"""Without credentials the plugins stop with one line naming the settings to set (no traceback),
and Meltano lists those settings as required."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, run_meltano

NO_CREDENTIALS = "No HubSpot credentials: set access_token"


def discover(config: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [str(BIN / "tap-hubspot-gather"), "--config", str(path), "--discover"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "error" in line.lower()]


def test_discovery_without_credentials_is_one_error_line(tmp_path: Path) -> None:
    # An unroutable URL: had the tap tried HubSpot, it would fail differently.
    result = discover({"api_url": "http://127.0.0.1:9"}, tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result.stderr)
    assert NO_CREDENTIALS in line
    assert "client_id, client_secret and refresh_token" in line


def test_incomplete_oauth_names_the_missing_settings(tmp_path: Path) -> None:
    config = {"api_url": "http://127.0.0.1:9", "client_id": "id", "refresh_token": "r"}
    result = discover(config, tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result.stderr)
    assert "Incomplete HubSpot OAuth credentials: client_secret not set" in line
    assert "r" not in line.split("credentials:", 1)[1].split()  # no secret value echoed


@pytest.mark.meltano
def test_meltano_config_list_shows_the_required_settings() -> None:
    result = run_meltano("--environment=prod", "config", "list", "tap-hubspot-gather")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Group 1: access_token" in result.stdout
    assert "Group 2: client_id, client_secret, refresh_token" in result.stdout
    assert "access_token (required by group 1)" in result.stdout
    target = run_meltano("--environment=prod", "config", "list", "target-gather")
    assert "Required settings: api_key" in target.stdout, target.stderr[-2000:]


@pytest.mark.meltano
def test_meltano_select_without_credentials_names_the_settings() -> None:
    env = {
        "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": "",
        "TAP_HUBSPOT_GATHER_API_URL": "http://127.0.0.1:9",
    }
    result = run_meltano("--environment=prod", "select", "tap-hubspot-gather", "--list", env=env)
    assert result.returncode != 0
    # The tap's own line, as Meltano renders its structured log (Meltano 4.4 then adds its own
    # traceback of the failed discovery, which a plugin cannot change).
    tap_errors = [
        line
        for line in result.stderr.splitlines()
        if "] tap-hubspot-gather Config validation" in line
    ]
    assert any(NO_CREDENTIALS in line for line in tap_errors), result.stderr[-3000:]
