"""Fault schedules through `meltano run`: every one ends with Gather holding exactly what a
fault-free run of the same portal produces, and the stored STATE never ahead of Gather.

Re-sent records are counted (at-least-once is fine, loss is not): Gather's accepted upserts
minus the records it holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.gather.pytest_plugin import GatherEmulatorFactory
from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.conftest import BIN
from tests.e2e.conftest import Pipeline
from tests.reliability.conftest import (
    FAST_RETRY_ENV,
    assert_state_not_ahead_of_gather,
    bookmarks,
    private_system_dir,
    route_count,
    run_allowing_failure,
)

SEED = {"companies": 30, "contacts": 640, "seed": 21}
OBJECTS = "^/crm/objects/"
RECORDS = "^/models/(account|user)/records"

CRM = "^/crm/"
# Rule i lets i requests pass before firing once; rules see only requests that earlier rules
# let through, so faults alternate with successes (each retry succeeds) and all 8 fire within
# the CRM requests of a small portal's discovery and first sync (a sync given a catalog reads no
# property definitions, so the portal has enough contacts for 7 list pages).
HUBSPOT_SCHEDULE = [
    {"path": CRM, "status": 429, "retry_after": "0", "skip": 1},
    {"path": CRM, "status": 429, "skip": 2},  # no Retry-After: backoff
    {"path": CRM, "status": 500, "skip": 3},
    {"path": CRM, "status": 502, "skip": 4},
    {"path": CRM, "status": 503, "skip": 5},
    {"path": CRM, "status": 504, "skip": 6},
    {"path": CRM, "action": "drop", "skip": 7},
    {"path": CRM, "status": 429, "retry_after": "1", "skip": 8},
    {"path": OBJECTS, "action": "latency", "delay_s": 0.05, "times": None},
]
GATHER_SCHEDULE = [
    {"path": RECORDS, "status": 429, "retry_after": "0", "skip": 5, "every": 20, "times": 4},
    {"path": RECORDS, "status": 429, "skip": 11, "every": 40, "times": 2},
    {"path": RECORDS, "status": 500, "skip": 13, "every": 50, "times": 2},
    {"path": RECORDS, "status": 502, "skip": 17, "times": 1},
    {"path": RECORDS, "status": 503, "retry_after": "0", "skip": 19, "every": 30, "times": 3},
    {"path": RECORDS, "status": 504, "skip": 23, "times": 1},
    {"path": RECORDS, "action": "drop", "skip": 29, "every": 35, "times": 3},
    {"path": RECORDS, "action": "latency", "delay_s": 0.3, "skip": 31, "every": 25, "times": 4},
]


@pytest.fixture(scope="module")
def fault_free(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """What a fault-free run of the SEED portal leaves in Gather: `(accounts, users)`."""
    root = tmp_path_factory.mktemp("fault-free")
    hubspot = HubSpotEmulator.start()
    factory = GatherEmulatorFactory(root)
    try:
        hubspot.unlimit()
        hubspot.seed(**SEED)
        clean = Pipeline(
            hubspot=hubspot,
            gather=factory.start(),
            workdir=root,
            extra_env=private_system_dir(root),
        )
        clean.run()
        yield clean.held()
    finally:
        factory.stop_all()
        hubspot.stop()


def resent(pipeline: Pipeline) -> int:
    """Upserts Gather accepted beyond one per record it holds (at-least-once re-sends)."""
    stats = pipeline.gather.stats()
    accepted = route_count(stats, "POST", "/records", "200") + route_count(
        stats, "POST", "/records", "201"
    )
    accounts, users = pipeline.held()
    return accepted - len(accounts) - len(users)


def fired(rules: list[dict[str, Any]]) -> int:
    return sum(rule["fired"] for rule in rules if rule["action"] != "latency")


@pytest.mark.e2e
def test_hubspot_errors_drops_and_throttling_leave_gather_as_a_fault_free_run(
    pipeline: Pipeline, fault_free: tuple[Any, Any]
) -> None:
    pipeline.hubspot.seed(**SEED)
    pipeline.hubspot.set_faults(HUBSPOT_SCHEDULE)

    result = pipeline.run()

    assert fired(pipeline.hubspot.faults()) == 8, pipeline.hubspot.faults()
    assert pipeline.held() == fault_free
    assert pipeline.held() == pipeline.expected()
    assert assert_state_not_ahead_of_gather(pipeline) > 0
    assert "retries" in result.stderr


@pytest.mark.e2e
def test_gather_errors_drops_and_latency_leave_gather_as_a_fault_free_run(
    pipeline: Pipeline, fault_free: tuple[Any, Any], record_property: Any
) -> None:
    pipeline.hubspot.seed(**SEED)
    pipeline.gather.set_faults(GATHER_SCHEDULE)

    pipeline.run()

    faults = fired(pipeline.gather.faults())
    assert faults >= 10, pipeline.gather.faults()
    assert pipeline.held() == fault_free
    extra = resent(pipeline)
    record_property("gather_faults", faults)
    record_property("resent_records", extra)
    # A dropped connection may have been applied before it dropped: re-sent, never lost.
    assert 0 <= extra <= faults
    assert assert_state_not_ahead_of_gather(pipeline) > 0


@pytest.mark.e2e
def test_oauth_tokens_expiring_mid_sync_are_refreshed_and_nothing_is_lost(
    pipeline: Pipeline, fault_free: tuple[Any, Any]
) -> None:
    pipeline.hubspot.seed(**SEED)
    client = pipeline.hubspot.oauth_client
    oauth = {
        "TAP_HUBSPOT_GATHER_ACCESS_TOKEN": "",
        "TAP_HUBSPOT_GATHER_CLIENT_ID": client.client_id,
        "TAP_HUBSPOT_GATHER_CLIENT_SECRET": client.client_secret,
        "TAP_HUBSPOT_GATHER_REFRESH_TOKEN": client.refresh_token,
    }
    slow = {"path": OBJECTS, "action": "latency", "delay_s": 0.1, "times": None}
    pipeline.hubspot.set_faults([slow])
    expired: list[int] = []

    def expire_while_syncing() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(expired) < 2:
            objects = route_count(pipeline.hubspot.stats(), "GET", "{object_type}")
            objects += route_count(pipeline.hubspot.stats(), "POST", "/search")
            if objects >= 2 * (len(expired) + 1):
                expired.append(pipeline.hubspot.expire_tokens())
            time.sleep(0.02)

    thread = threading.Thread(target=expire_while_syncing, daemon=True)
    thread.start()
    pipeline.run(**oauth)
    thread.join(timeout=5)

    assert sum(expired) >= 2, "the tokens were never expired mid-sync"
    stats = pipeline.hubspot.stats()
    assert route_count(stats, "POST", "/oauth/2026-03/token") >= 3, stats
    assert pipeline.held() == fault_free


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("side", "rule"),
    [
        pytest.param(
            "gather",
            {"path": RECORDS, "status": 503, "retry_after": "0", "skip": 150, "times": None},
            id="gather-keeps-failing",
        ),
        pytest.param(
            "hubspot",
            {"path": OBJECTS, "status": 502, "retry_after": "0", "skip": 3, "times": None},
            id="hubspot-keeps-failing",
        ),
    ],
)
def test_a_run_failing_for_good_keeps_state_behind_gather_and_a_rerun_converges(
    pipeline: Pipeline, fault_free: tuple[Any, Any], side: str, rule: dict[str, Any]
) -> None:
    pipeline.hubspot.seed(**SEED)
    emulator = pipeline.gather if side == "gather" else pipeline.hubspot
    emulator.set_faults([rule])
    # Small checkpoints and pages of the tap's STATE, so the failed run stores some progress.
    env = {"TARGET_GATHER_CHECKPOINT_EVERY_RECORDS": "40"}

    failed = run_allowing_failure(pipeline, **env)

    assert failed.returncode != 0, failed.stderr[-3000:]
    assert pipeline.held() != fault_free, "the fault never stopped the run"
    covered = assert_state_not_ahead_of_gather(pipeline)
    if side == "gather":
        assert covered > 0, f"no progress was stored: {bookmarks(pipeline)}"
    emulator.clear_faults()
    pipeline.run(**env)
    assert pipeline.held() == fault_free
    assert assert_state_not_ahead_of_gather(pipeline) > 0


def test_fast_retry_settings_are_integers_meltano_can_pass(project_root: Path) -> None:
    """Guard for this suite: the retry settings it passes by env reach the plugins."""
    result = subprocess.run(
        [str(project_root / ".venv/bin/meltano"), "invoke", "--dump=config", "target-gather"],
        cwd=project_root,
        env={**os.environ, **FAST_RETRY_ENV},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"max_retries": 6' in result.stdout


@pytest.mark.e2e
def test_responses_slower_than_the_timeout_are_retried_on_both_sides(
    pipeline: Pipeline, fault_free: tuple[Any, Any], tmp_path: Path
) -> None:
    """Tap piped into target without Meltano: their timeouts are fractional settings, which
    Meltano cannot take from the environment (test_settings_by_env)."""
    pipeline.hubspot.seed(**SEED)
    slow = {"action": "latency", "delay_s": 2.5}
    pipeline.hubspot.set_faults([{**slow, "path": OBJECTS, "skip": 1, "times": 2}])
    pipeline.gather.set_faults([{**slow, "path": RECORDS, "skip": 10, "every": 40, "times": 3}])
    tap_config = tmp_path / "tap.json"
    tap_config.write_text(
        json.dumps(
            {
                "api_url": pipeline.hubspot.url,
                "access_token": pipeline.hubspot.token,
                "account_id_property": pipeline.account_id_property,
                "user_id_property": pipeline.user_id_property,
                "search_lag_seconds": 0,
                "include_archived": True,
                "request_timeout": 1,
                "backoff_max_seconds": 0.2,
                "max_retries": 4,
            }
        )
    )
    target_config = tmp_path / "target.json"
    target_config.write_text(
        json.dumps(
            {
                "api_url": pipeline.gather.url,
                "api_key": pipeline.gather.api_key,
                "delete_records": True,
                "ledger_path": str(tmp_path / "ledger.sqlite3"),
                "rejects_path": str(tmp_path / "rejects.jsonl"),
                "request_timeout_s": 1,
                "backoff_base_s": 0.01,
                "backoff_max_s": 0.2,
                "max_retries": 4,
            }
        )
    )
    with subprocess.Popen(
        [str(BIN / "tap-hubspot-gather"), "--config", str(tap_config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as tap:
        target = subprocess.run(
            [str(BIN / "target-gather"), "--config", str(target_config)],
            stdin=tap.stdout,
            capture_output=True,
            timeout=300,
            check=False,
        )
        tap_stderr = tap.stderr.read().decode() if tap.stderr else ""
    assert tap.returncode == 0, tap_stderr[-3000:]
    assert target.returncode == 0, target.stderr.decode()[-3000:]

    assert "timeout" in tap_stderr.lower() or "Timeout" in tap_stderr, tap_stderr[-2000:]
    assert all(rule["fired"] for rule in pipeline.hubspot.faults() + pipeline.gather.faults())
    assert pipeline.held() == fault_free
