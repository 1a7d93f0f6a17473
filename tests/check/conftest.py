"""Fixtures for the preflight check's tests: an unlimited emulator, settings, a runner."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.check import main


@dataclass
class CheckRun:
    """One in-process run of the check command."""

    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        """The `--format json` report."""
        data: dict[str, Any] = json.loads(self.stdout)
        return data


@pytest.fixture
def hubspot(hubspot_emulator: HubSpotEmulator) -> HubSpotEmulator:
    """The emulator without rate limits (the rate-limit test sets its own)."""
    hubspot_emulator.unlimit()
    return hubspot_emulator


@pytest.fixture
def settings(hubspot: HubSpotEmulator) -> dict[str, Any]:
    """Tap settings for the emulator, with quick retries."""
    return {
        "api_url": hubspot.url,
        "access_token": hubspot.token,
        "max_retries": 2,
        "backoff_max_seconds": 0.1,
        "searches_per_second": 100,
    }


@pytest.fixture
def run_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., CheckRun]:
    """Run `tap-hubspot-gather-check --config <file> *args` in this process."""

    def run(settings: dict[str, Any], *args: str) -> CheckRun:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(settings))
        capsys.readouterr()
        out = io.StringIO()
        code = main(["--config", str(path), *args], stdout=out)
        return CheckRun(code, out.getvalue(), capsys.readouterr().err)

    return run
