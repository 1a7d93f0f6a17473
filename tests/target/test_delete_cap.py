"""Mirror deletes are capped: a run that would wipe a source deletes nothing and fails,
until the cap is raised or the exact deletes are confirmed once."""

from __future__ import annotations

import re

from tests.target.conftest import TargetHarness
from tests.target.test_sources import VERSION, complete_pass, lines, run, user

USERS = [user("111", str(i), f"a{i}") for i in range(1, 31)]


def _code(stderr: str) -> str:
    found = re.search(r"confirm_deletes=([0-9a-f]+)", stderr)
    assert found is not None, stderr[-3000:]
    return found.group(1)


def test_a_pass_that_would_wipe_the_portal_deletes_nothing_until_confirmed_once(
    target_run: TargetHarness,
) -> None:
    assert run(target_run, complete_pass(VERSION, USERS), "mirror").returncode == 0
    target_run.emulator.reset_stats()

    # A selection mistake: the next complete pass brings 3 of 30 records.
    wiped = run(target_run, complete_pass(VERSION + 1, USERS[:3]), "mirror")

    assert wiped.returncode == 1
    assert "delete_cap_percent (10%, 3 records)" in wiped.stderr
    assert "would delete 27 of the 30 records stream 'contacts' of portal 111" in wiped.stderr
    assert target_run.emulator.stats()["requests"].get("DELETE", 0) == 0
    assert len(target_run.emulator.records("user")) == 30
    assert wiped.states == []  # no STATE past the withheld deletes
    withheld = lines(target_run, "left-behind.jsonl")
    assert len(withheld) == 27
    assert {(x["portal"], x["stream"], x["action"], x["reason"]) for x in withheld} == {
        ("111", "contacts", "withheld", "not_in_source")
    }
    assert wiped.counts("user")["withheld"] == 27

    # A code confirms exactly those deletes, once.
    code = _code(wiped.stderr)
    confirmed = run(
        target_run, complete_pass(VERSION + 1, USERS[:3]), "mirror", confirm_deletes=code
    )
    assert confirmed.returncode == 0, confirmed.stderr[-3000:]
    assert set(target_run.emulator.records("user")) == {"a1", "a2", "a3"}
    assert confirmed.counts("user")["deleted"] == 27


def test_a_code_left_set_confirms_nothing_else(target_run: TargetHarness) -> None:
    assert run(target_run, complete_pass(VERSION, USERS), "mirror").returncode == 0
    wiped = run(target_run, complete_pass(VERSION + 1, USERS[:3]), "mirror")
    code = _code(wiped.stderr)

    other = run(target_run, complete_pass(VERSION + 1, USERS[:5]), "mirror", confirm_deletes=code)

    assert other.returncode == 1
    assert len(target_run.emulator.records("user")) == 30


def test_an_empty_or_wrong_portal_deletes_nothing(target_run: TargetHarness) -> None:
    assert run(target_run, complete_pass(VERSION, USERS), "mirror").returncode == 0
    target_run.emulator.reset_stats()

    empty = run(target_run, complete_pass(VERSION + 1, []), "mirror", delete_cap_percent=100)
    wrong = run(
        target_run,
        complete_pass(VERSION + 1, [user("999", "1", "z1")]),
        "mirror",
        delete_cap_percent=100,
    )

    assert empty.returncode == 0, empty.stderr[-3000:]
    assert wrong.returncode == 0, wrong.stderr[-3000:]
    assert target_run.emulator.stats()["requests"].get("DELETE", 0) == 0
    assert set(target_run.emulator.records("user")) == {f"a{i}" for i in range(1, 31)} | {"z1"}


def test_deletes_within_the_cap_go_through(target_run: TargetHarness) -> None:
    assert run(target_run, complete_pass(VERSION, USERS), "mirror").returncode == 0
    result = run(target_run, complete_pass(VERSION + 1, USERS[3:]), "mirror")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.counts("user")["deleted"] == 3
    assert set(target_run.emulator.records("user")) == {f"a{i}" for i in range(4, 31)}
