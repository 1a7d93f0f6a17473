"""The emulators bind loopback by default and require their credentials; the rejects file
holds no record payload (PII) unless the user opts in, and logs carry none above DEBUG."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest

from tests.e2e.conftest import Pipeline


def status_of(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> int:
    data = b"{}" if method == "POST" else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def listening_addresses(pid: int) -> set[str]:
    connections = psutil.Process(pid).net_connections(kind="inet")
    return {c.laddr.ip for c in connections if c.status == psutil.CONN_LISTEN}


def test_the_hubspot_emulator_binds_loopback_and_requires_a_token(
    hubspot_emulator_process: Any,
) -> None:
    emulator = hubspot_emulator_process()
    assert urlsplit(emulator.url).hostname == "127.0.0.1"
    assert listening_addresses(emulator.proc.pid) == {"127.0.0.1"}
    objects = f"{emulator.url}/crm/objects/2026-09/contacts"
    assert status_of(objects) == 401
    assert status_of(objects, headers={"Authorization": "Bearer pat-na1-not-the-token"}) == 401
    assert status_of(objects, headers=emulator.auth_headers) == 200


def test_the_gather_emulator_binds_loopback_and_requires_its_key(
    gather_emulator_process: Any,
) -> None:
    emulator = gather_emulator_process(in_memory=True)
    assert urlsplit(emulator.url).hostname == "127.0.0.1"
    assert listening_addresses(emulator.pid) == {"127.0.0.1"}
    records = f"{emulator.url}/models/account/records"
    assert status_of(records, "POST") == 401
    assert status_of(records, "POST", {"Authorization": "Token not-the-key"}) == 401
    assert status_of(records, "POST", emulator.auth_headers) != 401


def invalid_values(pipeline: Pipeline) -> set[str]:
    """Property values of records the target must refuse (missing a required trait)."""
    values: set[str] = set()
    for contact in pipeline.hubspot.dump("contacts"):
        props = contact["properties"]
        if props.get("gather_user_id") and not all(
            (props.get(p) or "").strip() for p in ("firstname", "lastname", "email")
        ):
            values.update(str(props[p]) for p in ("firstname", "lastname", "email") if props.get(p))
    return {v for v in values if len(v) >= 4}


@pytest.mark.e2e
def test_the_rejects_file_holds_no_payload_unless_opted_in(pipeline: Pipeline) -> None:
    pipeline.hubspot.seed(companies=10, contacts=120, seed=17)
    values = invalid_values(pipeline)
    assert values, "the seed has no invalid contacts to reject"
    rejects = pipeline.workdir / "rejects.jsonl"

    first = pipeline.run()
    emails = {c["properties"].get("email") for c in pipeline.hubspot.dump("contacts")}
    emails = {e.strip() for e in emails if e and len(e.strip()) > 5}
    assert not [e for e in emails if e in first.stderr], "record values in INFO logs"
    private = rejects.read_text(encoding="utf-8")
    entries = [json.loads(line) for line in private.splitlines()]
    assert entries
    assert all("payload" not in entry for entry in entries)
    assert not [v for v in values if v in private], "record values in the rejects file"

    rejects.unlink()
    pipeline.hubspot.touch("contacts")  # everything travels again
    pipeline.run(TARGET_GATHER_REJECTS_INCLUDE_PAYLOAD="true")
    opted_in = rejects.read_text(encoding="utf-8")
    assert [v for v in values if v in opted_in], "opting in should add the payloads"
