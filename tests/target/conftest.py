"""Fixtures for target-gather tests: run the real CLI in a subprocess against the emulator.

`target_run` is a `TargetHarness`: `run(messages, **config)` feeds Singer messages on stdin
to `target-gather --config ...`, and returns what it printed (STATE lines), the rejects file
and the run summary; Gather's side is read back through the `gather_emulator` fixture.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN

TARGET = str(BIN / "target-gather")
# Short waits so retry tests stay fast; tests that check the backoff itself override them.
FAST_RETRIES = {"backoff_base_s": 0.01, "backoff_max_s": 0.05, "max_retries": 3}
RUN_TIMEOUT_S = 60


def schema(stream: str, properties: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """A SCHEMA message; property values are JSON Schema type names or full schemas."""
    props = {
        name: spec if isinstance(spec, dict) else {"type": [spec, "null"]}
        for name, spec in properties.items()
    }
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": props},
        "key_properties": keys,
    }


def record(stream: str, **values: Any) -> dict[str, Any]:
    """A RECORD message."""
    return {"type": "RECORD", "stream": stream, "record": values}


def state(**bookmarks: Any) -> dict[str, Any]:
    """A STATE message."""
    return {"type": "STATE", "value": {"bookmarks": bookmarks}}


# tap-hubspot-gather's contract: key = account_id_property / user_id_property (defaults).
COMPANIES_SCHEMA = schema(
    "companies",
    {
        "id": "string",
        "companyId": "string",
        "name": "string",
        "city": "string",
        "country": "string",
        "domain": "string",
        "updatedAt": {"type": ["string", "null"], "format": "date-time"},
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    },
    ["companyId"],
)
CONTACTS_SCHEMA = schema(
    "contacts",
    {
        "vid": "integer",
        "firstname": "string",
        "lastname": "string",
        "email": "string",
        "city": "string",
        "country": "string",
        "primary_company_id": "string",
        "primary_company_account_id": "string",
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    },
    ["vid"],
)


def company(cid: str, name: str | None = "Acme", **extra: Any) -> dict[str, Any]:
    """A `companies` RECORD as the tap emits it."""
    return record("companies", id=cid, companyId=cid, name=name, **extra)


def contact(vid: Any, first: str | None = "Ada", **extra: Any) -> dict[str, Any]:
    """A `contacts` RECORD as the tap emits it."""
    values = {"lastname": "Lovelace", "email": f"user{vid}@example.com", **extra}
    return record("contacts", vid=vid, firstname=first, **values)


@dataclass
class TargetRun:
    """What one target run produced."""

    returncode: int
    stdout: str
    stderr: str
    states: list[dict[str, Any]]
    summary: dict[str, Any] | None
    rejects: list[dict[str, Any]]

    def counts(self, model: str) -> dict[str, Any]:
        """The summary's counters of one model."""
        assert self.summary is not None, self.stderr[-3000:]
        return dict(self.summary["models"].get(model, {}))


def encode_messages(messages: Iterable[dict[str, Any] | str]) -> str:
    """Singer lines; strings are passed through verbatim (for malformed-input tests)."""
    return "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)


class TargetHarness:
    """Runs target-gather against one emulator with files under one temp folder."""

    def __init__(self, root: Path, emulator: Any) -> None:
        self.root = root
        self.emulator = emulator
        self.ledger = root / "ledger.sqlite3"
        self.rejects = root / "rejects.jsonl"
        self.summary = root / "summary.json"
        self.runs = 0

    def config(self, **overrides: Any) -> dict[str, Any]:
        """The config of a run: this emulator, temp files, fast retries, then overrides."""
        base: dict[str, Any] = {
            "api_url": self.emulator.url,
            "api_key": self.emulator.api_key,
            "ledger_path": str(self.ledger),
            "rejects_path": str(self.rejects),
            "summary_path": str(self.summary),
            **FAST_RETRIES,
        }
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    def command(self, **overrides: Any) -> list[str]:
        """The CLI command line, with the config written to a fresh file."""
        self.runs += 1
        path = self.root / f"config-{self.runs}.json"
        path.write_text(json.dumps(self.config(**overrides)), encoding="utf-8")
        return [TARGET, "--config", str(path)]

    @staticmethod
    def env() -> dict[str, str]:
        """The environment without any TARGET_GATHER_* leaking in from the caller."""
        return {k: v for k, v in os.environ.items() if not k.startswith("TARGET_GATHER_")}

    def run(
        self,
        messages: Iterable[dict[str, Any] | str],
        *,
        env: dict[str, str] | None = None,
        **overrides: Any,
    ) -> TargetRun:
        """Run the target to completion on `messages` (config `overrides`, extra `env`)."""
        self.summary.unlink(missing_ok=True)
        result = subprocess.run(
            self.command(**overrides),
            input=encode_messages(messages),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            env={**self.env(), **(env or {})},
            check=False,
        )
        return self.collect(result.returncode, result.stdout, result.stderr)

    def collect(self, returncode: int, stdout: str, stderr: str) -> TargetRun:
        """Parse a finished run's outputs."""
        states = [json.loads(line) for line in stdout.splitlines() if line.strip()]
        summary = (
            json.loads(self.summary.read_text(encoding="utf-8")) if self.summary.exists() else None
        )
        return TargetRun(returncode, stdout, stderr, states, summary, self.read_rejects())

    def read_rejects(self) -> list[dict[str, Any]]:
        """Every line of the rejects file so far."""
        if not self.rejects.exists():
            return []
        text = self.rejects.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def target_run(tmp_path: Path, gather_emulator: Any) -> TargetHarness:
    """A `TargetHarness` bound to a fresh emulator and fresh ledger/rejects files."""
    return TargetHarness(tmp_path / "target", gather_emulator)


@pytest.fixture(autouse=True)
def _target_root(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir(exist_ok=True)
