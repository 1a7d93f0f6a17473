"""The pipeline as users run it: `meltano run tap-hubspot-gather target-gather`, real processes,
both emulators over HTTP, Meltano state in a per-test `file://` backend."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import BIN, MELTANO_ENV, ROOT
from tests.e2e.expected import expected_gather, without_cleared_links

JOB = ("run", "tap-hubspot-gather", "target-gather")
RUN_TIMEOUT_S = 300
PROCESS_WAIT_S = 60.0
POLL_S = 0.02


def find_plugin_process(
    meltano: subprocess.Popen[str], name: str, timeout_s: float = PROCESS_WAIT_S
) -> psutil.Process | None:
    """The plugin process `name` (e.g. `target-gather`) that a `meltano run` started, or None
    when the run ended first or nothing appeared in time. Meltano first runs `tap --discover`
    as a separate, short-lived process: that one is never returned."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and meltano.poll() is None:
        for child in psutil.Process(meltano.pid).children(recursive=True):
            try:
                cmdline = child.cmdline()
            except psutil.NoSuchProcess:
                continue
            if any(part.endswith(f"/{name}") for part in cmdline) and "--discover" not in cmdline:
                return child
        time.sleep(POLL_S)
    return None


@dataclass
class Pipeline:
    """Both emulators plus the settings that point the plugins at them."""

    hubspot: Any
    gather: Any
    workdir: Path
    account_id_property: str = "gather_account_id"
    user_id_property: str = "gather_user_id"
    extra_env: dict[str, str] = field(default_factory=dict)
    runs: int = 0

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    @property
    def left_behind_path(self) -> Path:
        return self.workdir / "left-behind.jsonl"

    def left_behind(self) -> list[dict[str, Any]]:
        """Every line of the target's left-behind file so far (empty when there is none)."""
        if not self.left_behind_path.exists():
            return []
        lines = self.left_behind_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def summary(self, run: int | None = None) -> dict[str, Any]:
        """The target's JSON summary of run `run` (1-based; default the last one)."""
        path = self.workdir / f"summary-{run or self.runs}.json"
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def env(self, **overrides: str) -> dict[str, str]:
        """Environment of one `meltano run` (settings by env var, as in production)."""
        self.state_dir.mkdir(exist_ok=True)
        return {
            **os.environ,
            **MELTANO_ENV,
            "MELTANO_STATE_BACKEND_URI": self.state_dir.as_uri(),
            # Run locks live in Meltano's system database: one per test keeps tests independent.
            "MELTANO_DATABASE_URI": f"sqlite:///{self.workdir / 'meltano.db'}",
            "TAP_HUBSPOT_GATHER_API_URL": self.hubspot.url,
            "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": self.hubspot.token,
            "TAP_HUBSPOT_GATHER_ACCOUNT_ID_PROPERTY": self.account_id_property,
            "TAP_HUBSPOT_GATHER_USER_ID_PROPERTY": self.user_id_property,
            "TAP_HUBSPOT_GATHER_SEARCH_LAG_SECONDS": "0",
            "TAP_HUBSPOT_GATHER_INCLUDE_ARCHIVED": "true",
            "TARGET_GATHER_API_URL": self.gather.url,
            "TARGET_GATHER_API_KEY": self.gather.api_key,
            "TARGET_GATHER_DELETE_RECORDS": "true",
            "TARGET_GATHER_LEDGER_PATH": str(self.workdir / "ledger.sqlite3"),
            "TARGET_GATHER_REJECTS_PATH": str(self.workdir / "rejects.jsonl"),
            "TARGET_GATHER_LEFT_BEHIND_PATH": str(self.left_behind_path),
            "TARGET_GATHER_SUMMARY_PATH": str(self.workdir / f"summary-{self.runs + 1}.json"),
            **self.extra_env,
            **overrides,
        }

    def command(self, blocks: tuple[str, ...] = ()) -> list[str]:
        return [str(BIN / "meltano"), "--environment=demo", "run", *(blocks or JOB[1:])]

    def run(self, *blocks: str, **env: str) -> subprocess.CompletedProcess[str]:
        """One `meltano run` (of `blocks`, default the main job) to completion; fails the test
        with the log tail if it fails."""
        result = subprocess.run(
            self.command(blocks),
            cwd=ROOT,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        self.runs += 1
        assert result.returncode == 0, result.stderr[-4000:]
        return result

    def start(self, **env: str) -> subprocess.Popen[str]:
        """Start a `meltano run` without waiting (for tests that kill it)."""
        self.runs += 1
        return subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env(**env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def expected(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """What Gather must hold, computed from HubSpot's live records."""
        return expected_gather(
            self.hubspot.dump("companies"),
            self.hubspot.dump("contacts"),
            self.account_id_property,
            self.user_id_property,
        )

    def held(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """What Gather holds: `(accounts, users)` as `{id: traits}`; a user whose link was
        cleared (`account_id` null) shows no `account_id`, like one never linked."""
        return self.gather.records("account"), without_cleared_links(self.gather.records("user"))


@pytest.fixture
def pipeline(hubspot_emulator: Any, gather_emulator: Any, tmp_path: Path) -> Pipeline:
    """Both emulators (HubSpot without rate limits) and a fresh state backend and ledger."""
    hubspot_emulator.unlimit()
    return Pipeline(hubspot=hubspot_emulator, gather=gather_emulator, workdir=tmp_path)
