"""Every source is its own namespace: two HubSpot portals (colliding record ids) into one
Gather workspace, the retire stream of records without an ID, reports naming their source.

Records as tap-hubspot-gather emits them (`id`, `merged_ids`, `portal_id`), through the real
target CLI into the Gather emulator.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.target.conftest import TargetHarness, record, schema, state

USERS = schema(
    "contacts",
    {
        "id": "string",
        "portal_id": "string",
        "app_user_id": "string",
        "email": "string",
        "firstname": "string",
        "lastname": "string",
        "merged_ids": {"type": ["array", "null"], "items": {"type": "string"}},
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    },
    ["app_user_id"],
)
WITHOUT_ID = schema(
    "contacts_without_id",
    {
        "portal_id": "string",
        "id": "string",
        "stream": "string",
        "id_property": "string",
        "archived": "boolean",
        "updatedAt": {"type": ["string", "null"], "format": "date-time"},
    },
    ["portal_id", "id"],
)
VERSION = 1_700_000_000_000


def user(portal: str, hubspot_id: str, key: str, **extra: Any) -> dict[str, Any]:
    values = {
        "id": hubspot_id,
        "portal_id": portal,
        "app_user_id": key,
        "email": f"{key}@example.com",
        "firstname": "Ada",
        "lastname": "Lovelace",
        "merged_ids": [],
        "_sdc_deleted_at": None,
        **extra,
    }
    return record("contacts", **values)


def without_id(portal: str, hubspot_id: str) -> dict[str, Any]:
    values = {
        "portal_id": portal,
        "id": hubspot_id,
        "stream": "contacts",
        "id_property": "app_user_id",
        "archived": False,
        "updatedAt": "2026-12-01T00:00:00Z",
    }
    return {"type": "RECORD", "stream": "contacts_without_id", "record": values}


def complete_pass(version: int, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """RECORDs of one `version`, then ACTIVATE_VERSION: a complete pass."""
    return [
        *({**r, "version": version} for r in records),
        {"type": "ACTIVATE_VERSION", "stream": "contacts", "version": version},
    ]


def lines(harness: TargetHarness, name: str) -> list[dict[str, Any]]:
    path = harness.root / name
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def run(harness: TargetHarness, messages: list[dict[str, Any]], mode: str, **config: Any) -> Any:
    return harness.run(
        [USERS, WITHOUT_ID, *messages, state(n=harness.runs)],
        sync_mode=mode,
        left_behind_path=str(harness.root / "left-behind.jsonl"),
        **config,
    )


PORTAL_A = [user("111", str(i), f"a{i}") for i in range(1, 21)]
PORTAL_B = [user("222", str(i), f"b{i}") for i in range(1, 21)]  # the same HubSpot ids


@pytest.mark.parametrize("mode", ["keep", "mirror"])
def test_two_portals_with_colliding_ids_never_touch_each_other(
    target_run: TargetHarness, mode: str
) -> None:
    first_a = run(target_run, complete_pass(VERSION, PORTAL_A), mode)
    first_b = run(target_run, complete_pass(VERSION, PORTAL_B), mode)
    assert first_a.returncode == 0, first_a.stderr[-3000:]
    assert first_b.returncode == 0, first_b.stderr[-3000:]
    # Portal B's first complete pass neither reports nor deletes portal A's users.
    assert first_b.counts("user")["created"] == 20
    assert first_b.counts("user")["left_behind"] == 0
    assert first_b.counts("user")["deleted"] == 0
    assert lines(target_run, "left-behind.jsonl") == []

    # Portal A changes one key and archives one record; portal B runs again unchanged.
    changed = [
        user("111", "1", "a1-new"),
        user("111", "2", "a2", _sdc_deleted_at="2026-12-01T00:00:00Z"),
        *PORTAL_A[2:],
    ]
    target_run.emulator.reset_stats()
    second_a = run(target_run, complete_pass(VERSION + 1, changed), mode)
    assert second_a.returncode == 0, second_a.stderr[-3000:]
    target_run.emulator.reset_stats()
    second_b = run(target_run, complete_pass(VERSION + 1, PORTAL_B), mode)
    assert second_b.returncode == 0, second_b.stderr[-3000:]

    # The unchanged portal's second run sends nothing.
    assert target_run.emulator.stats()["requests"]["total"] == 0
    assert second_b.counts("user")["unchanged"] == 20
    # Gather holds exactly the union of what both portals imply.
    expected = {f"b{i}" for i in range(1, 21)} | {f"a{i}" for i in range(3, 21)} | {"a1-new"}
    if mode == "keep":
        expected |= {"a1", "a2"}  # left behind, reported, never deleted
    assert set(target_run.emulator.records("user")) == expected
    reported = lines(target_run, "left-behind.jsonl")
    assert sorted((x["portal"], x["stream"], x["id"], x["reason"]) for x in reported) == [
        ("111", "contacts", "a1", "key_changed"),
        ("111", "contacts", "a2", "archived"),
    ]
    summary = second_b.summary
    assert summary is not None
    assert [(s["portal"], s["stream"], s["identity_tracking"]) for s in summary["sources"]] == [
        ("222", "contacts", True)
    ]
    assert summary["identity_tracking"]["contacts"] is True


@pytest.mark.parametrize("mode", ["keep", "mirror"])
def test_a_cleared_id_arrives_on_the_without_id_stream_and_retires_the_old_record(
    target_run: TargetHarness, mode: str
) -> None:
    first = run(target_run, [user("111", "1", "a1"), user("111", "2", "a2")], mode)
    assert first.returncode == 0, first.stderr[-3000:]
    # Portal 222 has a record with the same HubSpot id and no ID: it retires nothing of 111.
    other = run(target_run, [without_id("222", "1")], mode)
    assert other.returncode == 0, other.stderr[-3000:]
    assert set(target_run.emulator.records("user")) == {"a1", "a2"}

    second = run(target_run, [without_id("111", "1")], mode, delete_cap_percent=50)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.counts("user")["no_id"] == 1
    assert second.rejects == []
    assert ("a1" in target_run.emulator.records("user")) is (mode == "keep")
    assert [
        (x["portal"], x["id"], x["reason"]) for x in lines(target_run, "left-behind.jsonl")
    ] == [("111", "a1", "id_cleared")]


def test_mirror_never_deletes_a_record_another_portal_still_holds(
    target_run: TargetHarness,
) -> None:
    """Two portals sharing a Gather id (one customer's ID in an EU and a US portal)."""
    shared = [user("111", "1", "shared"), user("111", "2", "a2")]
    assert run(target_run, complete_pass(VERSION, shared), "mirror").returncode == 0
    assert (
        run(target_run, complete_pass(VERSION, [user("222", "9", "shared")]), "mirror").returncode
        == 0
    )

    gone = run(
        target_run, complete_pass(VERSION + 1, [shared[1]]), "mirror", delete_cap_percent=100
    )

    assert gone.returncode == 0, gone.stderr[-3000:]
    assert set(target_run.emulator.records("user")) == {"shared", "a2"}
    assert gone.counts("user")["kept_live"] == 1
    assert gone.counts("user")["deleted"] == 0


def test_rejects_and_the_summary_name_the_portal_and_stream(target_run: TargetHarness) -> None:
    bad = user("111", "5", "a5", email="not an email")
    result = run(target_run, [user("111", "1", "a1"), bad], "keep")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [(r["portal"], r["stream"], r["id"], r["outcome"]) for r in result.rejects] == [
        ("111", "contacts", "a5", "invalid")
    ]
    assert "portal 111 stream contacts -> gather model user (identity tracked)" in result.stderr


def test_a_stream_mixing_portals_in_one_run_is_refused_record_by_record(
    target_run: TargetHarness,
) -> None:
    result = run(target_run, [user("111", "1", "a1"), user("222", "2", "b2")], "keep")
    assert result.returncode == 1
    assert set(target_run.emulator.records("user")) == {"a1"}
    assert [r["id"] for r in result.rejects] == ["b2"]
    assert "one run of a stream must read one portal" in result.rejects[0]["reason"]


TRAITS = {"first_name": "firstname", "last_name": "lastname", "email": "email"}


def test_identity_tracking_is_declared_for_any_stream_and_named_in_the_summary(
    target_run: TargetHarness,
) -> None:
    """A stream renamed by stream maps tracks identity when its mapping says so; one that does
    not say so is named untracked."""
    people = {**USERS, "stream": "people"}
    untracked = {**USERS, "stream": "leads"}
    mappings = {
        "people": {
            "kind": "user",
            "id_field": "app_user_id",
            "traits": TRAITS,
            "source_id_field": "id",
            "merged_ids_field": "merged_ids",
            "portal_field": "portal_id",
        },
        "leads": {"kind": "user", "id_field": "app_user_id", "traits": TRAITS},
    }

    def as_stream(message: dict[str, Any], stream: str) -> dict[str, Any]:
        return {**message, "stream": stream}

    first = target_run.run(
        [
            people,
            untracked,
            as_stream(user("111", "1", "p1"), "people"),
            as_stream(user("111", "2", "l1"), "leads"),
            state(n=1),
        ],
        mappings=mappings,
        left_behind_path=str(target_run.root / "left-behind.jsonl"),
    )
    assert first.returncode == 0, first.stderr[-3000:]
    second = target_run.run(
        [people, as_stream(user("111", "1", "p1-new"), "people"), state(n=2)],
        mappings=mappings,
        left_behind_path=str(target_run.root / "left-behind.jsonl"),
    )

    assert second.returncode == 0, second.stderr[-3000:]
    reported = lines(target_run, "left-behind.jsonl")
    assert [(x["portal"], x["stream"], x["id"], x["reason"]) for x in reported] == [
        ("111", "people", "p1", "key_changed")
    ]
    assert first.summary is not None
    assert first.summary["identity_tracking"] == {"leads": False, "people": True}
    assert "portal (none) stream leads -> gather model user (identity not tracked)" in first.stderr
    assert "portal 111 stream people -> gather model user (identity tracked)" in first.stderr


def test_a_declared_identity_field_the_schema_lacks_stops_the_run_naming_it(
    target_run: TargetHarness,
) -> None:
    mappings = {"contacts": {"source_id_field": "hubspot_record_id"}}
    result = target_run.run([USERS, user("111", "1", "a1")], mappings=mappings)
    assert result.returncode != 0
    assert "mappings.contacts.source_id_field names field 'hubspot_record_id'" in result.stderr
