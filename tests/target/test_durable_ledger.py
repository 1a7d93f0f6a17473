"""`ledger_uri`: the ledger and identity map survive a runner without a disk.

Each "clone" is a fresh local ledger_path; only the durable directory is shared, as a scheduled
CI runner shares only Meltano's state backend.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

from tests.target.conftest import TargetHarness, encode_messages, state
from tests.target.test_identity import USERS_BY_EMAIL, user

KILL_AFTER_STATE = 4
USERS = [user(str(i), f"u{i}@example.com", city="Oslo") for i in range(1, 31)]


def run_clone(
    harness: TargetHarness, clone: str, messages: list[dict[str, Any]], durable: Path, **config: Any
) -> Any:
    """One run from a fresh clone: its own local ledger, the shared durable copy."""
    result = harness.run(
        [USERS_BY_EMAIL, *messages, state(run=harness.runs)],
        ledger_path=str(harness.root / clone / "ledger.sqlite3"),
        ledger_uri=durable.as_uri(),
        **config,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_an_unchanged_run_from_a_fresh_clone_sends_nothing(
    target_run: TargetHarness, tmp_path: Path
) -> None:
    durable = tmp_path / "state"
    run_clone(target_run, "clone-1", USERS, durable)
    target_run.emulator.reset_stats()

    second = run_clone(target_run, "clone-2", USERS, durable)

    assert target_run.emulator.stats()["requests"]["total"] == 0
    assert second.counts("user")["unchanged"] == len(USERS)


def test_a_key_change_seen_from_a_fresh_clone_still_retires_the_old_record(
    target_run: TargetHarness, tmp_path: Path
) -> None:
    durable = tmp_path / "state"
    run_clone(target_run, "clone-1", USERS, durable, sync_mode="mirror")

    run_clone(
        target_run, "clone-2", [user("1", "renamed@example.com")], durable, sync_mode="mirror"
    )

    users = target_run.emulator.records("user")
    assert "renamed@example.com" in users
    assert "u1@example.com" not in users


def test_the_journal_is_compacted_and_a_clone_restores_from_base_plus_journal(
    target_run: TargetHarness, tmp_path: Path
) -> None:
    durable = tmp_path / "state"
    interleaved: list[dict[str, Any]] = []
    moves = [
        [user(str(i), f"u{i}@example.com", firstname=name) for i in range(1, 31)]
        for name in ("Rome", "Lima", "Pune")
    ]
    moved = moves[-1]
    # 120 checkpoints, each writing ledger rows: more segments than the compaction threshold
    for i, message in enumerate([*USERS, *moves[0], *moves[1], *moved]):
        interleaved += [message, state(at=i)]
    run_clone(target_run, "clone-1", interleaved, durable, checkpoint_every_records=1)
    (folder,) = (durable / "target-gather").iterdir()
    manifest = json.loads((folder / "MANIFEST").read_text(encoding="utf-8"))
    assert (folder / manifest["base"]).exists()
    assert not any(p.name.startswith("journal-") for p in folder.iterdir())

    changed = [user("2", "u2@example.com", firstname="Bergen")]
    run_clone(target_run, "clone-2", changed, durable)  # base + one journal segment
    assert any(p.name.startswith("journal-") for p in folder.iterdir())
    target_run.emulator.reset_stats()

    third = run_clone(target_run, "clone-3", [*moved[:1], *changed], durable)

    assert target_run.emulator.stats()["requests"]["total"] == 0
    assert third.counts("user")["unchanged"] == 2


def test_a_killed_run_leaves_a_durable_copy_covering_its_last_state(
    target_run: TargetHarness, tmp_path: Path
) -> None:
    """STATE never claims more than the durable copy knows: after SIGKILL, a fresh clone
    re-sending everything up to the last STATE the run emitted sends nothing."""
    durable = tmp_path / "state"
    messages: list[dict[str, Any]] = [USERS_BY_EMAIL]
    for i, message in enumerate(USERS):
        messages += [message, state(at=i)]
    target_run.emulator.set_faults(
        [{"method": "POST", "action": "latency", "delay_s": 0.05, "times": None}]
    )
    command = target_run.command(
        ledger_path=str(target_run.root / "clone-1" / "ledger.sqlite3"),
        ledger_uri=durable.as_uri(),
        checkpoint_every_records=1,
    )
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=target_run.env(),
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(encode_messages(messages))
    proc.stdin.flush()
    last = -1
    for line in proc.stdout:
        last = json.loads(line)["bookmarks"]["at"]
        if last >= KILL_AFTER_STATE:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    proc.stdin.close()
    proc.stdout.close()
    assert last >= KILL_AFTER_STATE
    target_run.emulator.clear_faults()
    target_run.emulator.reset_stats()

    replay = run_clone(target_run, "clone-2", USERS[: last + 1], durable)

    assert target_run.emulator.stats()["requests"]["total"] == 0
    assert replay.counts("user")["unchanged"] == last + 1


def test_an_unsupported_ledger_uri_is_refused_with_the_fix(target_run: TargetHarness) -> None:
    result = target_run.run([USERS_BY_EMAIL, *USERS[:1]], ledger_uri="gs://bucket/state")

    assert result.returncode != 0
    assert "ledger_uri scheme 'gs' is not supported" in result.stderr
    assert "Traceback" not in result.stderr


def test_meltanos_local_state_backend_keeps_the_ledger_local(target_run: TargetHarness) -> None:
    """`$MELTANO_STATE_BACKEND_URI` is `systemdb` when Meltano keeps state in its own database."""
    result = target_run.run([USERS_BY_EMAIL, *USERS[:2]], ledger_uri="systemdb")

    assert result.returncode == 0, result.stderr[-3000:]
    assert target_run.ledger.exists()
