"""The peer: MeltanoLabs' `meltano-tap-hubspot`, in its own venv, launched against an emulator.

The venv is built once inside the checkout (`.cache/bench/peer-venv`, with the project's uv)
and reused. The peer cannot discover against the emulator (it asks for the properties of
~20 object types the emulator does not serve), so the bench writes its catalog: contacts and
companies selected with every HubSpot property (the peer always requests them all), every
other stream deselected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import CACHE, HUBSPOT_TOKEN, ROOT

PEER_PACKAGE = "meltano-tap-hubspot==0.10.1"
PEER_VENV = CACHE / "peer-venv"
PEER_PYTHON = PEER_VENV / "bin" / "python"
LAUNCHER = ROOT / "bench" / "peer_tap_hubspot.py"
UV = ROOT / ".tools" / "bin" / "uv"
# The interpreter version running the bench: one uv will find without downloading anything.
PEER_PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
# Streams of tap-hubspot 0.10.1 whose schema needs a properties call (deselected here).
_OTHER_STREAMS = (
    "deals",
    "leads",
    "line_items",
    "goal_targets",
    "calls",
    "communications",
    "emails",
    "meetings",
    "notes",
    "postal_mail",
    "tasks",
    "users",
    "teams",
    "owners",
    "ticket_pipelines",
    "deal_pipelines",
    "email_subscriptions",
    "properties",
    "feedback_submissions",
    "products",
    "tickets",
    "quotes",
)
MODIFIED = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate"}


def ensure_venv() -> Path:
    """Build the peer's venv unless it already holds the pinned package; returns its python."""
    marker = PEER_VENV / ".bench-installed"
    if marker.exists() and marker.read_text() == PEER_PACKAGE and PEER_PYTHON.exists():
        return PEER_PYTHON
    env = {
        **os.environ,
        "UV_SYSTEM_CERTS": "1",
        "SSL_CERT_FILE": os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"),
        "UV_CACHE_DIR": str(ROOT / ".cache" / "uv"),
    }
    PEER_VENV.parent.mkdir(parents=True, exist_ok=True)
    if not PEER_PYTHON.exists():
        subprocess.run(
            [str(UV), "venv", "--quiet", "--python", PEER_PYTHON_VERSION, str(PEER_VENV)],
            check=True,
            env=env,
        )
    subprocess.run(
        [str(UV), "pip", "install", "--quiet", "--python", str(PEER_PYTHON), PEER_PACKAGE],
        check=True,
        env=env,
    )
    marker.write_text(PEER_PACKAGE)
    return PEER_PYTHON


def _property_names(url: str, object_type: str) -> list[str]:
    request = urllib.request.Request(  # noqa: S310 - loopback emulator
        f"{url}/crm/v3/properties/{object_type}",  # the peer's own API version
        headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return [p["name"] for p in json.loads(response.read())["results"]]


def _entry(name: str, replication_key: str, properties: list[str], selected: bool) -> Any:
    nullable_string = {"type": ["string", "null"]}
    date_time = {"type": ["string", "null"], "format": "date-time"}
    schema = {
        "type": "object",
        "properties": {
            "id": nullable_string,
            # As the peer types them: every HubSpot property a string.
            "properties": {
                "type": ["object", "null"],
                "properties": dict.fromkeys(properties, nullable_string),
            },
            "createdAt": date_time,
            "updatedAt": date_time,
            "archived": {"type": ["boolean", "null"]},
            replication_key: date_time,
        },
    }
    return {
        "tap_stream_id": name,
        "stream": name,
        "key_properties": ["id"],
        "schema": schema,
        "replication_method": "INCREMENTAL",
        "replication_key": replication_key,
        "metadata": [
            {
                "breadcrumb": [],
                "metadata": {
                    "selected": selected,
                    "inclusion": "available",
                    "replication-method": "INCREMENTAL",
                    "replication-key": replication_key,
                    "table-key-properties": ["id"],
                },
            }
        ],
    }


def write_catalog(url: str, path: Path) -> Path:
    """The peer's catalog: contacts and companies with all their properties, nothing else."""
    streams = [
        _entry(name, key, _property_names(url, name), selected=True)
        for name, key in MODIFIED.items()
    ]
    streams += [_entry(n, "hs_lastmodifieddate", [], selected=False) for n in _OTHER_STREAMS]
    path.write_text(json.dumps({"streams": streams}))
    return path


def command(config: Path, catalog: Path, state: Path | None = None) -> list[str]:
    """The peer's sync command line (run with `PEER_HUBSPOT_URL` in the environment)."""
    cmd = [str(PEER_PYTHON), str(LAUNCHER), "--config", str(config), "--catalog", str(catalog)]
    if state is not None:
        cmd += ["--state", str(state)]
    return cmd
