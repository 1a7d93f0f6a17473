"""Gather failing: retries, exhausted retries, bad keys, and a target killed mid-batch."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from typing import Any

import pytest

from hubspot_gather_common.retry_after import parse_retry_after
from target_gather.client import RetryPolicy
from tests.target.conftest import (
    COMPANIES_SCHEMA,
    CONTACTS_SCHEMA,
    TargetHarness,
    company,
    contact,
    encode_messages,
    state,
)

ACCOUNTS = "^/models/account/records$"
USERS = "^/models/user/records$"


def test_429_with_and_without_retry_after_5xx_and_dropped_connections_are_retried(
    target_run: TargetHarness,
) -> None:
    target_run.emulator.set_faults(
        [
            {"path": ACCOUNTS, "status": 429, "retry_after": "0", "times": 1},
            {"path": ACCOUNTS, "status": 429, "times": 1},
            {"path": ACCOUNTS, "status": 503, "times": 1},
            {"path": ACCOUNTS, "status": 500, "times": 1},
            {"path": ACCOUNTS, "action": "drop", "times": 1},
        ]
    )
    messages = [COMPANIES_SCHEMA, *(company(str(i), f"Co {i}") for i in range(4)), state(n=4)]

    run = target_run.run(messages, max_retries=5)

    assert run.returncode == 0, run.stderr[-3000:]
    assert [rule["fired"] for rule in target_run.emulator.faults()] == [1, 1, 1, 1, 1]
    assert target_run.emulator.records("account") == {str(i): {"name": f"Co {i}"} for i in range(4)}
    assert run.counts("account")["retried"] == 5
    assert run.counts("account")["created"] == 4
    assert run.rejects == []
    assert run.states == [{"bookmarks": {"n": 4}}]


def test_a_request_timeout_is_retried(target_run: TargetHarness) -> None:
    target_run.emulator.set_faults(
        [{"path": ACCOUNTS, "action": "latency", "delay_s": 2.0, "times": 1}]
    )

    run = target_run.run([COMPANIES_SCHEMA, company("1", "Slow")], request_timeout_s=0.5)

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.counts("account")["retried"] >= 1  # more if the machine is very slow
    assert target_run.emulator.faults()[0]["fired"] == 1
    assert target_run.emulator.records("account") == {"1": {"name": "Slow"}}


def test_exhausted_retries_fail_the_run_without_state_past_unsent_records(
    target_run: TargetHarness,
) -> None:
    target_run.emulator.set_faults([{"path": USERS, "status": 503, "times": None}])
    messages = [
        COMPANIES_SCHEMA,
        company("1"),
        company("2"),
        state(step="A"),
        company("3"),  # 3rd record: checkpoint, so STATE A is emitted
        CONTACTS_SCHEMA,
        contact(10),
        contact(11),
        state(step="B"),
        contact(12),  # 6th record: checkpoint fails, STATE B must never appear
        state(step="C"),
    ]

    run = target_run.run(messages, checkpoint_every_records=3, max_retries=2)

    assert run.returncode != 0
    assert run.states == [{"bookmarks": {"step": "A"}}]
    assert set(target_run.emulator.records("account")) == {"1", "2", "3"}
    assert target_run.emulator.records("user") == {}
    assert "were not delivered after 2 retries" in run.stderr
    assert "HTTP 503" in run.stderr
    assert run.counts("user")["retried"] == 6  # the summary is still written
    assert "Traceback" not in run.stderr

    target_run.emulator.clear_faults()
    rerun = target_run.run(messages, checkpoint_every_records=3)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert set(target_run.emulator.records("user")) == {"10", "11", "12"}
    assert rerun.states[-1] == {"bookmarks": {"step": "C"}}
    assert rerun.counts("account")["unchanged"] == 3


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ({"api_key": "wrong-key-0123456789"}, "HTTP 401: Invalid token."),
        ({"permission_denied": True}, "HTTP 403"),
    ],
)
def test_a_refused_api_key_stops_the_run_at_once_without_state(
    target_run: TargetHarness, setup: dict[str, Any], expected: str
) -> None:
    overrides = {k: v for k, v in setup.items() if k == "api_key"}
    if "permission_denied" in setup:
        target_run.emulator.set_config(permission_denied=True)

    run = target_run.run([COMPANIES_SCHEMA, company("1"), state(n=1)], **overrides)

    assert run.returncode != 0
    assert run.states == []
    assert f"Gather refused the API key ({expected}" in run.stderr
    assert "TARGET_GATHER_API_KEY" in run.stderr
    assert "wrong-key-0123456789" not in run.stderr
    assert (
        target_run.emulator.stats()["requests"]["routes"]["POST /models/{model}/records"]["total"]
        == 1
    )


def test_a_target_killed_mid_batch_and_rerun_leaves_gather_as_a_clean_run(
    target_run: TargetHarness,
) -> None:
    emulator = target_run.emulator
    count = 300
    messages: list[Any] = [COMPANIES_SCHEMA]
    for i in range(count):
        messages.append(company(str(i), f"Company {i}", city=f"City {i % 7}"))
        if i % 25 == 24:
            messages.append(state(done=i))
    settings = {"checkpoint_every_records": 50, "max_concurrency": 2}
    emulator.set_config(latency_s=0.005)

    process = subprocess.Popen(
        target_run.command(**settings),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=target_run.env(),
    )
    assert process.stdin is not None
    process.stdin.write(encode_messages(messages).encode())
    process.stdin.close()
    deadline = time.monotonic() + 30
    while len(emulator.records("account")) < 120 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    process.stdout.close()
    at_kill = emulator.records("account")
    assert 0 < len(at_kill) < count, "the kill must land mid-run"

    # Every STATE emitted before the kill covers only records Gather already held.
    emitted = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert emitted, "at least one checkpoint before the kill"
    for checkpoint in emitted:
        covered = checkpoint["bookmarks"]["done"]
        assert all(str(i) in at_kill for i in range(covered + 1))

    rerun = target_run.run(messages, **settings)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    after_rerun = emulator.records("account")

    emulator.reset()
    target_run.ledger.unlink()
    clean = target_run.run(messages, **settings)
    assert clean.returncode == 0
    assert after_rerun == emulator.records("account")
    assert len(after_rerun) == count


def test_retry_after_is_honoured_up_to_the_cap_and_backoff_is_bounded() -> None:
    policy = RetryPolicy(max_retries=5, backoff_base_s=0.5, backoff_max_s=30.0)

    assert 7.0 <= policy.delay(1, retry_after=7.0) <= 7.0 * 1.25
    assert policy.delay(1, retry_after=120.0) == 30.0
    for retry in range(1, 12):
        ceiling = min(30.0, 0.5 * 2 ** (retry - 1))
        assert ceiling / 2 <= policy.delay(retry, retry_after=None) <= ceiling
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_the_request_rate_limit_keeps_gathers_limit_without_429s(
    target_run: TargetHarness,
) -> None:
    target_run.emulator.set_config(rate_limit_per_s=40, rate_limit_burst=5)
    messages = [COMPANIES_SCHEMA, *(company(str(i), f"Co {i}") for i in range(30))]

    # Half Gather's rate: a margin for scheduling jitter on a loaded machine.
    limited = target_run.run(messages, max_requests_per_second=20, max_concurrency=8)

    assert limited.returncode == 0, limited.stderr[-3000:]
    assert limited.counts("account")["retried"] == 0
    assert len(target_run.emulator.records("account")) == 30


def test_without_the_limit_gathers_429s_are_absorbed_by_retries(
    target_run: TargetHarness,
) -> None:
    target_run.emulator.set_config(rate_limit_per_s=40, rate_limit_burst=5)
    messages = [COMPANIES_SCHEMA, *(company(str(i), f"Co {i}") for i in range(30))]

    # backoff_max_s caps the emulator's whole-second Retry-After to keep the test short.
    unlimited = target_run.run(messages, max_concurrency=8, max_retries=20, backoff_max_s=0.3)

    assert unlimited.returncode == 0, unlimited.stderr[-3000:]
    assert unlimited.counts("account")["retried"] > 0
    assert len(target_run.emulator.records("account")) == 30


def test_sigterm_mid_batch_stops_promptly_without_state_for_the_batch_in_flight(
    target_run: TargetHarness,
) -> None:
    emulator = target_run.emulator
    messages: list[Any] = [COMPANIES_SCHEMA]
    for i in range(200):
        messages += [company(str(i), f"Company {i}"), state(done=i)]
    emulator.set_config(latency_s=0.01)
    process = subprocess.Popen(
        target_run.command(checkpoint_every_records=100, max_concurrency=2),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=target_run.env(),
    )
    assert process.stdin is not None
    process.stdin.write(encode_messages(messages).encode())
    process.stdin.close()
    deadline = time.monotonic() + 30
    while len(emulator.records("account")) < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    returncode = process.wait(timeout=15)  # a re-entrant drain would deadlock here
    assert process.stdout is not None
    assert process.stderr is not None
    stdout, stderr = process.stdout.read().decode(), process.stderr.read().decode()
    process.stdout.close()
    process.stderr.close()

    assert returncode == 128 + signal.SIGTERM
    assert "while delivering a batch: stopping without STATE" in stderr
    assert stdout == ""  # the first checkpoint (100 records) was still in flight
