"""The target fed crafted Singer streams: every bad message gets a rejects entry or a clear error
naming it and the fix, and every valid record in the same input still arrives, intact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.target.conftest import (
    COMPANIES_SCHEMA,
    CONTACTS_SCHEMA,
    TargetHarness,
    company,
    contact,
    record,
    schema,
    state,
)

ONE_MB = 1024 * 1024
ARABIC = "\u0645\u0631\u062d\u0628\u0627"  # "marhaba", right-to-left
HOSTILE_TEXT = (
    f"emoji 🚀🏳️\u200d🌈 rtl \u202e{ARABIC}\u202c nul \x00 bell \x07 esc \x1b[31m tab \t cr \r end"
)
ODD_IDS = ["a/b", "q?x=1&y=2", "100%", "50%2F", "with space", ".", "..", "v1.0.", "#frag", "é/ü"]
INJECTION_NAMES = [
    "'; DROP TABLE records;--",
    'name" OR "1"="1',
    "$where",
    "__proto__",
    "../../etc/passwd",
    "<script>alert(1)</script>",
]


@pytest.fixture
def target(tmp_path: Path, gather_emulator: Any) -> TargetHarness:
    root = tmp_path / "target"
    root.mkdir()
    return TargetHarness(root, gather_emulator)


def test_a_stream_full_of_bad_messages_delivers_every_valid_record(target: TargetHarness) -> None:
    notes = schema(
        "notes",
        {"note_id": "string", "text": "string", **dict.fromkeys(INJECTION_NAMES, "string")},
        ["note_id"],
    )
    messages: list[dict[str, Any] | str] = [
        COMPANIES_SCHEMA,
        company("c-ok-1", "Valid One"),
        '{"type": "RECORD", "stream": "companies", "record": {"companyId": "broken"',  # cut off
        "not json at all \x00",
        '{"type": "RECORD", "stream": "companies"}',  # no record
        record("companies", name="No key"),  # missing key property
        company("c-wrong-type", {"nested": "object"}),  # name of the wrong type
        company("c-big", "B" * ONE_MB),  # a 1 MB string fits Gather's body limit
        company("c-hostile", HOSTILE_TEXT, city="\u05ea\u05dc \u05d0\u05d1\u05d9\u05d1"),
        *(company(odd, f"Odd {n}") for n, odd in enumerate(ODD_IDS)),
        CONTACTS_SCHEMA,
        contact(1, email="not-an-email"),  # invalid trait value
        contact(2, first=None),  # missing required trait
        contact({"vid": "object"}),  # id of the wrong type
        contact(3),
        notes,
        record(
            "notes",
            note_id="n/1?%",
            text=HOSTILE_TEXT,
            **{name: f"v{n}" for n, name in enumerate(INJECTION_NAMES)},
        ),
        company("c-ok-2", "Valid Two"),
        state(position=1),
    ]
    mappings = {"notes": {"kind": "custom", "model_id": "notes", "all_fields": True}}

    run = target.run(messages, mappings=mappings)

    accounts = target.emulator.records("account")
    expected_accounts = {
        "c-ok-1": {"name": "Valid One"},
        "c-big": {"name": "B" * ONE_MB},
        "c-hostile": {"name": HOSTILE_TEXT, "city": "\u05ea\u05dc \u05d0\u05d1\u05d9\u05d1"},
        **{odd: {"name": f"Odd {n}"} for n, odd in enumerate(ODD_IDS)},
        "c-ok-2": {"name": "Valid Two"},
    }
    assert accounts == expected_accounts
    assert set(target.emulator.records("user")) == {"3"}
    assert target.emulator.records("notes") == {
        "n/1?%": {"text": HOSTILE_TEXT, **{name: f"v{n}" for n, name in enumerate(INJECTION_NAMES)}}
    }
    # Every bad message is in the rejects file, named by id (or input line) with a reason.
    reasons = {(r.get("stream"), r.get("id")): r["reason"] for r in run.rejects}
    assert len(run.rejects) == 8, run.rejects
    assert any("input line 3 is not valid JSON" in r["reason"] for r in run.rejects)
    assert any("line 4" in r["reason"] for r in run.rejects)
    assert any("line 5" in r["reason"] for r in run.rejects)
    assert any("key property 'companyId'" in r["reason"] for r in run.rejects)
    assert ("companies", "c-wrong-type") in reasons
    assert ("contacts", "1") in reasons
    assert ("contacts", "2") in reasons
    for entry in run.rejects:
        assert entry["reason"], entry
        assert "payload" not in entry  # not opted in
    # Spec violations fail the run at the end, saying what to fix; STATE still moves on, as
    # every valid record before it is in Gather and every bad one in the rejects file.
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert "Fix" in run.stderr
    assert run.states == [{"bookmarks": {"position": 1}}]


def test_deletes_of_awkward_ids_reach_exactly_those_records(target: TargetHarness) -> None:
    companies = [company(odd, f"Odd {n}") for n, odd in enumerate(ODD_IDS)]
    first = target.run([COMPANIES_SCHEMA, *companies, company("keep", "Keep"), state(n=1)])
    assert first.returncode == 0, first.stderr[-3000:]

    deleted = "2026-01-01T00:00:00Z"
    deletes = [company(odd, f"Odd {n}", _sdc_deleted_at=deleted) for n, odd in enumerate(ODD_IDS)]
    # Deleting nearly every record of the source needs the delete cap raised.
    second = target.run(
        [COMPANIES_SCHEMA, *deletes, state(n=2)], delete_records=True, delete_cap_percent=100
    )

    assert second.returncode == 0, second.stderr[-3000:]
    assert target.emulator.records("account") == {"keep": {"name": "Keep"}}
    assert second.counts("account")["deleted"] == len(ODD_IDS)


@pytest.mark.parametrize(
    ("messages", "wanted"),
    [
        pytest.param(
            [company("1"), COMPANIES_SCHEMA],
            ("stream 'companies'", "before a corresponding schema"),
            id="record-before-schema",
        ),
        pytest.param(
            [
                COMPANIES_SCHEMA,
                company("kept", "Kept"),
                state(n=1),
                schema("mystery", {"mid": "string"}, ["mid"]),
                record("mystery", mid="m1"),
            ],
            ("'mystery'", "Fix"),
            id="unknown-stream-without-mapping",
        ),
    ],
)
def test_input_the_target_cannot_continue_on_fails_with_one_line_naming_stream_and_fix(
    target: TargetHarness, messages: list[dict[str, Any]], wanted: tuple[str, str]
) -> None:
    run = target.run(messages)

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    last_line = run.stderr.strip().splitlines()[-1]
    for text in wanted:
        assert text in last_line, run.stderr[-2000:]
    # What arrived before the fatal message is never acknowledged without being delivered:
    # either it is in Gather with its STATE, or no STATE covers it (the next run re-sends it).
    # (The target chooses the latter: tests/target/test_mappings.py, "after no state".)
    held = target.emulator.records("account")
    if run.states:
        assert run.states == [{"bookmarks": {"n": 1}}]
        assert held == {"kept": {"name": "Kept"}}
