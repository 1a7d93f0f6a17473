"""The `hubspot-emulator` console script: URL line, seeding, env credentials, clean stops."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from emulators.hubspot.pytest_plugin import HubSpotEmulatorProcess


def test_cli_serves_seeded_data_and_stops_cleanly_on_sigterm(
    hubspot_emulator_process: Callable[..., HubSpotEmulatorProcess],
) -> None:
    emulator = hubspot_emulator_process(
        "--seed-companies", "3", "--seed-contacts", "25", "--seed", "9"
    )
    assert emulator.url.startswith("http://127.0.0.1:")
    response = requests.get(
        emulator.url + "/crm/v3/objects/contacts",
        params={"limit": 100},
        headers=emulator.auth_headers,
        timeout=10,
    )
    assert len(response.json()["results"]) == 25
    assert emulator.terminate() == 0


def test_cli_accepts_tokens_from_the_environment_and_dies_on_sigkill(
    hubspot_emulator_process: Callable[..., HubSpotEmulatorProcess],
) -> None:
    emulator = hubspot_emulator_process(env={"HUBSPOT_EMULATOR_TOKENS": "env-a, env-b"})
    for token in ("env-a", "env-b"):
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.get(
            emulator.url + "/crm/v3/objects/companies", headers=headers, timeout=10
        ).ok
    assert emulator.kill() == -signal.SIGKILL


def test_cli_without_credentials_explains_what_to_give() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulators.hubspot.cli", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": "", "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "emulators")},
    )
    assert result.returncode == 2
    assert "--token" in result.stderr
    assert "HUBSPOT_EMULATOR_TOKENS" in result.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "hubspot-emulator"
    assert script.exists()
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0
    assert "--seed-contacts" in result.stdout
