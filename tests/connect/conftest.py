"""Helpers for the connect tests: run the command as users do, act as the user's browser."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from emulators.hubspot.pytest_plugin import HubSpotEmulator

URL_WAIT_S = 30.0
HTTP_TIMEOUT_S = 10.0
FINISH_TIMEOUT_S = 60.0
_HIDDEN_FIELD = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


@dataclass
class Connect:
    """One `tap-hubspot-gather-connect` process and what it printed (stdout read by a thread,
    line by line, so the URL is seen as soon as it is printed)."""

    proc: subprocess.Popen[str]
    url: str = ""
    stderr: str = ""
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")

    def next_line(self, timeout_s: float) -> str:
        """The next stdout line ("" at the end of output or after `timeout_s`)."""
        try:
            line = self.lines.get(timeout=timeout_s)
        except queue.Empty:
            return ""
        self.seen.append(line)
        return line

    @property
    def stdout(self) -> str:
        """Everything read from stdout so far."""
        return "".join(self.seen)

    def finish(self) -> int:
        """Wait for the exit; collect the output."""
        # Not communicate(): it would read stdout too, racing the pump thread for lines.
        self.proc.wait(timeout=FINISH_TIMEOUT_S)
        assert self.proc.stderr is not None
        self.stderr += self.proc.stderr.read()
        while self.next_line(FINISH_TIMEOUT_S):
            pass
        return self.proc.returncode


def connect_env(hubspot: HubSpotEmulator, **settings: str) -> dict[str, str]:
    """The OAuth app's settings as Meltano exports them; no token of any kind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_HUBSPOT_GATHER_")}
    env.update(
        {
            "TAP_HUBSPOT_GATHER_API_URL": hubspot.url,
            "TAP_HUBSPOT_GATHER_CLIENT_ID": hubspot.oauth_client.client_id,
            "TAP_HUBSPOT_GATHER_CLIENT_SECRET": hubspot.oauth_client.client_secret,
        }
    )
    env.update({f"TAP_HUBSPOT_GATHER_{k.upper()}": v for k, v in settings.items()})
    return env


def start_connect(
    env: Mapping[str, str],
    env_file: Path,
    *args: str,
    command: list[str] | None = None,
    browser: bool = False,
) -> Connect:
    """Start connect with `--port 0` (and `--no-browser` unless `browser`); read the authorize
    URL it prints."""
    argv = command or [sys.executable, "-m", "tap_hubspot_gather.connect"]
    opening = "--browser" if browser else "--no-browser"
    proc = subprocess.Popen(
        [*argv, opening, "--port", "0", "--env-file", str(env_file), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
    )
    run = Connect(proc)
    while not run.url:
        line = run.next_line(URL_WAIT_S)
        if not line:
            proc.kill()
            run.finish()
            pytest.fail(f"connect printed no URL; stderr: {run.stderr[-2000:]}")
        if line.startswith("  http"):
            run.url = line.strip()
    # The waiting line is printed after the URL, once the listener is up.
    assert run.next_line(URL_WAIT_S).startswith("connect: waiting")
    return run


def consent_form(url: str) -> tuple[str, dict[str, str]]:
    """GET the consent page; its form's target and hidden fields."""
    page = requests.get(url, timeout=HTTP_TIMEOUT_S)
    assert page.status_code == 200, page.text
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/oauth/authorize", dict(
        _HIDDEN_FIELD.findall(page.text)
    )


def decide(url: str, decision: str) -> requests.Response:
    """Be the user's browser: open the page, click a button, follow HubSpot's redirect to
    connect's loopback listener; the listener's answer."""
    target, fields = consent_form(url)
    redirect = requests.post(
        target, data={**fields, "decision": decision}, allow_redirects=False, timeout=HTTP_TIMEOUT_S
    )
    assert redirect.status_code == 302, redirect.text
    return requests.get(redirect.headers["Location"], timeout=HTTP_TIMEOUT_S)


@pytest.fixture
def hubspot(hubspot_emulator: HubSpotEmulator) -> HubSpotEmulator:
    """The emulator without rate limits."""
    hubspot_emulator.unlimit()
    return hubspot_emulator
