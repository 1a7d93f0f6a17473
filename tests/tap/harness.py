"""Run the tap in-process (or as its CLI) and collect the Singer messages it writes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap_hubspot_gather.tap import TapHubspotGather

BIN = Path(sys.executable).parent


@dataclass
class TapRun:
    """The messages of one tap run, by kind."""

    lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def records(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for line in self.lines:
            if line["type"] == "RECORD":
                out[line["stream"]].append(line["record"])
        return out

    @property
    def schemas(self) -> dict[str, dict[str, Any]]:
        return {line["stream"]: line for line in self.lines if line["type"] == "SCHEMA"}

    @property
    def states(self) -> list[dict[str, Any]]:
        return [line["value"] for line in self.lines if line["type"] == "STATE"]

    @property
    def last_state(self) -> dict[str, Any]:
        return self.states[-1]

    def ids(self, stream: str) -> list[str]:
        return [r["id"] for r in self.records[stream]]


def run_tap(
    config: Mapping[str, Any],
    *,
    state: Mapping[str, Any] | None = None,
    catalog: Mapping[str, Any] | None = None,
) -> TapRun:
    """Sync in this process, capturing stdout (the SDK writes bytes to sys.stdout.buffer)."""
    raw = io.BytesIO()
    wrapper = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    saved = sys.stdout
    sys.stdout = wrapper
    try:
        tap = TapHubspotGather(
            config=dict(config),
            state=dict(state) if state else None,
            catalog=dict(catalog) if catalog else None,
            parse_env_config=False,
            validate_config=True,
        )
        tap.sync_all()
    finally:
        wrapper.flush()
        sys.stdout = saved
    return parse_lines(raw.getvalue().decode("utf-8"))


def parse_lines(text: str) -> TapRun:
    return TapRun([json.loads(line) for line in text.splitlines() if line.strip()])


def discover(config: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog the tap discovers."""
    tap = TapHubspotGather(config=dict(config), parse_env_config=False)
    return tap.catalog_dict


def select_only(catalog: dict[str, Any], wanted: Mapping[str, set[str]]) -> dict[str, Any]:
    """Select the given streams and properties (automatic fields stay in regardless)."""
    for entry in catalog["streams"]:
        chosen = wanted.get(entry["tap_stream_id"])
        for md in entry["metadata"]:
            breadcrumb = md["breadcrumb"]
            if not breadcrumb:
                md["metadata"]["selected"] = chosen is not None
            elif chosen is not None:
                md["metadata"]["selected"] = breadcrumb[-1] in chosen
    return catalog


def cli_command(config_path: Path, state_path: Path | None = None) -> list[str]:
    command = [str(BIN / "tap-hubspot-gather"), "--config", str(config_path)]
    if state_path is not None:
        command += ["--state", str(state_path)]
    return command


def run_cli(config_path: Path, state_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(config_path, state_path),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
