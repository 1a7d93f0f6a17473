"""STATE cadence and content, dry run, deletes, and records that break the Singer spec."""

from __future__ import annotations

import json
import select
import subprocess
from typing import Any

from tests.target.conftest import (
    COMPANIES_SCHEMA,
    TargetHarness,
    company,
    encode_messages,
    record,
    state,
)

AWKWARD_IDS = ["a/b", "q?x=1", "100%", "two words", "..", "a.b", "#frag", "émile"]


def interleaved(count: int) -> list[dict[str, Any]]:
    """SCHEMA, then each company followed by a STATE naming it."""
    messages: list[dict[str, Any]] = [COMPANIES_SCHEMA]
    for i in range(1, count + 1):
        messages += [company(str(i), f"Co {i}"), state(last=i)]
    return messages


def test_state_is_checkpointed_every_n_records_and_only_after_delivery(
    target_run: TargetHarness,
) -> None:
    run = target_run.run(interleaved(10), checkpoint_every_records=4)

    assert run.returncode == 0, run.stderr[-3000:]
    # Record 4 triggers a checkpoint after STATE 3 arrived; record 8 after STATE 7; the end.
    assert run.states == [
        {"bookmarks": {"last": 3}},
        {"bookmarks": {"last": 7}},
        {"bookmarks": {"last": 10}},
    ]
    assert len(target_run.emulator.records("account")) == 10


def test_a_time_based_checkpoint_emits_each_state_once(target_run: TargetHarness) -> None:
    run = target_run.run(interleaved(3), checkpoint_every_seconds=0)

    assert run.states == [{"bookmarks": {"last": i}} for i in (1, 2, 3)]


def test_an_empty_state_is_never_emitted(target_run: TargetHarness) -> None:
    run = target_run.run([COMPANIES_SCHEMA, company("1"), {"type": "STATE", "value": {}}])

    assert run.returncode == 0
    assert run.states == []
    assert run.stdout == ""


def test_state_values_keep_their_types(target_run: TargetHarness) -> None:
    value = {"bookmarks": {"c": {"ts": "2024-01-01T00:00:00.123456Z", "ratio": 0.1, "n": 10**15}}}

    run = target_run.run([COMPANIES_SCHEMA, company("1"), {"type": "STATE", "value": value}])

    assert run.states == [value]


def test_dry_run_sends_nothing_emits_no_state_and_reports_what_would_happen(
    target_run: TargetHarness,
) -> None:
    assert (
        target_run.run([COMPANIES_SCHEMA, company("1", "Acme"), company("2", "Beta")]).returncode
        == 0
    )
    target_run.emulator.reset_stats()

    run = target_run.run(
        [
            COMPANIES_SCHEMA,
            company("1", "Acme"),  # unchanged
            company("2", "Beta v2"),  # changed
            company("3", "New"),  # new
            company("4", None),  # invalid
            state(n=4),
        ],
        dry_run=True,
        api_key=None,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert target_run.emulator.stats()["requests"]["total"] == 0
    assert run.states == []
    assert run.summary is not None
    assert run.summary["dry_run"] is True
    counts = run.counts("account")
    assert (counts["created"], counts["updated"], counts["unchanged"], counts["invalid"]) == (
        1,
        1,
        1,
        1,
    )
    assert [(r["id"], r["outcome"]) for r in run.rejects] == [("4", "invalid")]
    assert "Dry run (nothing sent)" in run.stderr
    # The ledger still describes what Gather holds.
    again = target_run.run([COMPANIES_SCHEMA, company("2", "Beta v2")])
    assert again.counts("account")["updated"] == 1


def test_deletes_reach_gather_for_awkward_ids_and_are_not_repeated(
    target_run: TargetHarness,
) -> None:
    created = target_run.run(
        [COMPANIES_SCHEMA, *(company(i, f"Co {i}") for i in [*AWKWARD_IDS, "keep"])]
    )
    assert created.returncode == 0, created.stderr[-3000:]
    assert set(target_run.emulator.records("account")) == {*AWKWARD_IDS, "keep"}
    archived = [
        COMPANIES_SCHEMA,
        *(company(i, f"Co {i}", _sdc_deleted_at="2024-06-01T00:00:00Z") for i in AWKWARD_IDS),
        company("never-existed", "Ghost", _sdc_deleted_at="2024-06-01T00:00:00Z"),
    ]

    ignored = target_run.run(archived)  # delete_records is off by default
    assert ignored.counts("account")["ignored_deletes"] == len(AWKWARD_IDS) + 1
    assert len(target_run.emulator.records("account")) == len(AWKWARD_IDS) + 1

    # Deleting most of the source needs the cap raised (test_delete_cap.py).
    run = target_run.run(archived, delete_records=True, delete_cap_percent=100)
    target_run.emulator.reset_stats()
    replay = target_run.run(archived, delete_records=True, delete_cap_percent=100)

    assert run.returncode == 0, run.stderr[-3000:]
    assert set(target_run.emulator.records("account")) == {"keep"}
    assert run.counts("account")["deleted"] == len(AWKWARD_IDS)
    # A record this source never wrote is never deleted (it may be another source's).
    assert run.counts("account")["ignored_deletes"] == 1
    assert replay.counts("account")["unchanged"] == len(AWKWARD_IDS)
    assert target_run.emulator.stats()["requests"]["total"] == 0

    # Re-created after deletion: sent again although the ledger knew the old body.
    recreated = target_run.run([COMPANIES_SCHEMA, company("a/b", "Co a/b")])
    assert recreated.counts("account")["created"] == 1


def test_a_record_without_its_key_property_is_rejected_and_fails_the_run_at_the_end(
    target_run: TargetHarness,
) -> None:
    run = target_run.run(
        [
            COMPANIES_SCHEMA,
            company("1"),
            record("companies", name="No key at all"),
            company("2"),
            state(n=3),
        ]
    )

    assert run.returncode != 0
    assert set(target_run.emulator.records("account")) == {"1", "2"}
    assert run.states == [{"bookmarks": {"n": 3}}]
    assert [(r["id"], r["reason"]) for r in run.rejects] == [
        (None, "key property 'companyId' is absent: the tap broke the Singer spec")
    ]
    assert "input that breaks the Singer spec (1 in 'companies')" in run.stderr
    assert "Fix the tap" in run.stderr
    assert "Traceback" not in run.stderr


def test_malformed_lines_are_rejected_and_every_valid_record_still_arrives(
    target_run: TargetHarness,
) -> None:
    run = target_run.run(
        [
            COMPANIES_SCHEMA,
            company("1"),
            '{"type": "RECORD", "stream": "compan',
            "[1, 2]",
            '{"type": "RECORD", "stream": "companies", "record": "not an object"}',
            company("2"),
            state(n=2),
        ]
    )

    assert run.returncode != 0
    assert set(target_run.emulator.records("account")) == {"1", "2"}
    assert run.states == [{"bookmarks": {"n": 2}}]
    assert [r["reason"][:40] for r in run.rejects] == [
        "input line 3 is not valid JSON (JSON is ",
        "input line 4 is not a Singer message (a ",
        "input line 5 is a RECORD without a 'stre",
    ]
    assert "input that breaks the Singer spec (3 in '(malformed lines)')" in run.stderr


def test_a_record_before_its_schema_stops_the_run_with_one_line(target_run: TargetHarness) -> None:
    run = target_run.run([company("1"), COMPANIES_SCHEMA])

    assert run.returncode != 0
    assert (
        "target-gather: A record for stream 'companies' was encountered before a "
        "corresponding schema" in run.stderr
    )
    assert "Traceback" not in run.stderr


def test_a_state_without_new_records_is_passed_on(target_run: TargetHarness) -> None:
    run = target_run.run([COMPANIES_SCHEMA, state(companies={"updatedAt": "2024-02-01"})])

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [{"bookmarks": {"companies": {"updatedAt": "2024-02-01"}}}]
    assert target_run.emulator.stats()["requests"]["total"] == 0


def test_an_activate_version_it_cannot_act_on_is_passed_over(target_run: TargetHarness) -> None:
    versioned = [{**company(cid), "version": 1} for cid in ("1", "2")]

    run = target_run.run(
        [
            COMPANIES_SCHEMA,
            versioned[0],
            {"type": "ACTIVATE_VERSION", "stream": "companies"},  # no version
            {"type": "ACTIVATE_VERSION", "stream": "deals", "version": 1},  # no SCHEMA
            versioned[1],
            {"type": "ACTIVATE_VERSION", "stream": "companies", "version": 1},
            state(n=2),
        ]
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert set(target_run.emulator.records("account")) == {"1", "2"}
    assert run.states == [{"bookmarks": {"n": 2}}]
    assert "Traceback" not in run.stderr
    # The SDK's own dispatcher would warn about `_sdc_*` columns this target never adds.
    assert "_sdc_deleted_at" not in run.stderr


# How long a STATE may take to come out while the input stays open (generous for CI).
STATE_WAIT_S = 30


def test_a_state_is_checkpointed_on_time_while_the_input_is_still_open(
    target_run: TargetHarness,
) -> None:
    """The time-based checkpoint ticks on STATE too: a tap sending only STATE (nothing changed)
    still has its bookmark passed on before its output ends."""
    process = subprocess.Popen(
        target_run.command(checkpoint_every_seconds=0),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=target_run.env(),
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(encode_messages([COMPANIES_SCHEMA, state(n=1)]).encode())
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], STATE_WAIT_S)
        line = process.stdout.readline() if ready else b""
    finally:
        process.stdin.close()
        returncode = process.wait(timeout=STATE_WAIT_S)
        process.stdout.close()

    assert line, "no STATE before the input ended"
    assert json.loads(line) == {"bookmarks": {"n": 1}}
    assert returncode == 0
