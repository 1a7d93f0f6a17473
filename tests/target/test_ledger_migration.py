"""A ledger and a durable copy written before sources had a portal migrate on the first run
after the upgrade: no row is lost, and that run deletes nothing it would not have before.

The "before" ledger is what this target writes for a source without a portal field, rewritten
in version 0.1's table layout (`migrate.downgrade_to_v1`); the durable copy is that file as its
base snapshot plus a journal segment in 0.1's statement format.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from target_gather.migrate import columns, downgrade_to_v1
from tests.target.conftest import TargetHarness, schema, state
from tests.target.test_sources import USERS, VERSION, complete_pass, user

OLD_USERS = schema(
    "contacts",
    {k: v for k, v in USERS["schema"]["properties"].items() if k != "portal_id"},
    ["app_user_id"],
)
COUNT = 20


def old_user(hubspot_id: str, key: str) -> dict[str, Any]:
    """A record as the tap emitted it before it carried `portal_id`."""
    message = user("", hubspot_id, key)
    del message["record"]["portal_id"]
    return message


def rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(path)
    try:
        return {
            table: sorted(db.execute(f"SELECT * FROM {table}"))
            for table in ("accepted", "identity")
        }
    finally:
        db.close()


def write_v1_ledger(harness: TargetHarness, **config: Any) -> dict[str, list[tuple[Any, ...]]]:
    """A mirror-mode complete pass of COUNT users by a tap without portal ids, then the file
    rewritten as version 0.1 kept it; returns its rows."""
    first = harness.run(
        [
            OLD_USERS,
            *complete_pass(VERSION, [old_user(str(i), f"a{i}") for i in range(1, COUNT + 1)]),
            state(n=1),
        ],
        sync_mode="mirror",
        **config,
    )
    assert first.returncode == 0, first.stderr[-3000:]
    db = sqlite3.connect(harness.ledger)
    downgrade_to_v1(db)
    db.close()
    before = rows(harness.ledger)
    assert "origin" not in columns(sqlite3.connect(harness.ledger), "accepted")
    assert len(before["accepted"]) == COUNT
    assert len(before["identity"]) == COUNT
    return before


def upgraded_pass(harness: TargetHarness, present: range, **config: Any) -> Any:
    messages = complete_pass(VERSION + 1, [user("111", str(i), f"a{i}") for i in present])
    result = harness.run([USERS, *messages, state(n=2)], sync_mode="mirror", **config)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_a_local_ledger_migrates_without_losing_a_row_and_deletes_only_what_it_would_have(
    target_run: TargetHarness,
) -> None:
    before = write_v1_ledger(target_run)
    target_run.emulator.reset_stats()

    # The first run after the upgrade: one user vanished from the portal.
    result = upgraded_pass(target_run, range(1, COUNT))

    counts = result.counts("user")
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 0, COUNT - 1)
    assert counts["deleted"] == 1
    assert set(target_run.emulator.records("user")) == {f"a{i}" for i in range(1, COUNT)}
    after = rows(target_run.ledger)
    # Every row kept, now the portal's (origin is the last column); only the deleted user's
    # rows changed: its digest became a tombstone and its identity row went.
    assert {r[:4] for r in after["accepted"]} == {r[:4] for r in before["accepted"]}
    assert {r[-1] for r in after["accepted"]} == {"111"}
    kept = [r for r in before["identity"] if r[3] != str(COUNT)]
    assert [r[:5] for r in after["identity"]] == [r[:5] for r in kept]
    assert {r[-1] for r in after["identity"]} == {"111"}


def test_a_durable_copy_written_before_the_upgrade_restores_and_migrates(
    target_run: TargetHarness, tmp_path: Path
) -> None:
    durable = tmp_path / "state"
    uri = f"file://{durable}"
    write_v1_ledger(target_run, ledger_uri=uri)
    # Rewrite the durable copy as 0.1 left it: the 0.1 file as base, one 0.1-format segment.
    (folder,) = (durable / "target-gather").iterdir()
    for stale in folder.iterdir():
        stale.unlink()
    shutil.copy(target_run.ledger, folder / "base-0000000001.sqlite3")
    (folder / "MANIFEST").write_text(
        json.dumps({"base": "base-0000000001.sqlite3", "after": 1}), encoding="utf-8"
    )
    (workspace,) = {r[0] for r in rows(target_run.ledger)["accepted"]}
    forget_a5 = [
        [
            "DELETE FROM accepted WHERE workspace = ? AND model = ? AND source = ? AND id = ?",
            [[workspace, "user", "contacts", "a5"]],
        ]
    ]
    (folder / "journal-0000000002.segment").write_text(json.dumps(forget_a5), encoding="utf-8")
    # A fresh runner: no local ledger at all.
    target_run.ledger.unlink()
    target_run.emulator.reset_stats()

    result = upgraded_pass(target_run, range(1, COUNT + 1), ledger_uri=uri)

    counts = result.counts("user")
    # a5's row was forgotten by the 0.1 segment: re-sent; everything else unchanged.
    assert (counts["updated"], counts["unchanged"], counts["deleted"]) == (1, COUNT - 1, 0)
    assert target_run.emulator.stats()["requests"]["total"] == 1
    assert counts["left_behind"] == 0
    after = rows(target_run.ledger)
    assert len(after["accepted"]) == COUNT
    assert len(after["identity"]) == COUNT
    assert {r[-1] for table in after.values() for r in table} == {"111"}
