"""Rate limits, retries, OAuth expiry and error messages, against the emulator over HTTP."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.errors import HubSpotAuthError, HubSpotError, HubSpotRateLimitError
from tests.tap.harness import run_cli, run_tap

OBJECTS = "/crm/objects/"
TOKEN_ROUTE = "POST /oauth/2026-03/token"


def status_count(stats: dict[str, Any], status: str) -> int:
    return sum(int(r["by_status"].get(status, 0)) for r in stats["routes"].values())


def test_429_storm_with_retry_after_is_waited_out_and_nothing_is_lost(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=5, contacts=250)
    hubspot.set_faults(
        [{"path": OBJECTS, "status": 429, "retry_after": "1", "skip": 1, "times": 2}]
    )
    started = time.monotonic()
    run = run_tap({**config, "backoff_max_seconds": 0.01})
    elapsed = time.monotonic() - started
    assert len(run.records["contacts"]) == 250
    assert status_count(hubspot.stats(), "429") == 2
    # The 1-second Retry-After was honoured (backoff alone would have waited 0.01 s).
    assert elapsed >= 2.0


def test_429_storm_without_retry_after_backs_off_and_completes(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=5, contacts=250)
    hubspot.set_faults([{"path": OBJECTS, "status": 429, "times": 6, "every": 1}])
    run = run_tap({**config, "max_retries": 8})
    assert len(run.records["contacts"]) == 250
    assert len(run.records["companies"]) == 5
    assert status_count(hubspot.stats(), "429") == 6


def test_5xx_timeouts_and_dropped_connections_are_retried(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=5, contacts=250)
    hubspot.set_faults(
        [
            {"path": OBJECTS, "status": 502, "times": 1},
            {"path": OBJECTS, "status": 503, "times": 1},
            {"path": OBJECTS, "action": "drop", "times": 1},
            {"path": OBJECTS, "action": "latency", "delay_s": 1.5, "times": 1},
        ]
    )
    run = run_tap({**config, "request_timeout": 0.5})
    assert len(run.records["contacts"]) == 250
    assert all(rule["fired"] == 1 for rule in hubspot.faults())


def test_retries_are_bounded_and_the_failure_says_what_to_do(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=2, contacts=10)
    hubspot.set_faults([{"path": OBJECTS, "status": 503, "times": None}])
    with pytest.raises(HubSpotError, match=r"failed after 3 attempts.*re-run later"):
        run_tap({**config, "max_retries": 2})
    assert status_count(hubspot.stats(), "503") == 3


def test_client_side_budget_keeps_a_full_and_an_incremental_sync_free_of_429s(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    # HubSpot's limits, shrunk in time: 20 requests per 2 s and 5 searches per second.
    hubspot.set_config(burst_limit=20, burst_window_ms=2000, search_per_second=5, daily_limit=None)
    hubspot.seed(companies=3, contacts=3000)
    settings = {k: v for k, v in config.items() if k != "searches_per_second"}
    first = run_tap(settings)  # ~32 list requests: the budget learns 20 per 2 s from headers
    assert len(first.records["contacts"]) == 3000
    hubspot.touch("contacts")
    second = run_tap(settings, state=first.last_state)  # 16 searches at <= 5 per second
    assert len(second.records["contacts"]) == 3000
    assert status_count(hubspot.stats(), "429") == 0


def test_daily_limit_fails_at_once_with_an_explanation(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.set_config(daily_limit=3)
    hubspot.seed(companies=2, contacts=500)
    with pytest.raises(HubSpotRateLimitError, match="daily API limit"):
        run_tap(config)


def test_oauth_token_is_refreshed_before_it_expires_during_a_sync(
    hubspot: HubSpotEmulator, oauth_config: dict[str, Any]
) -> None:
    hubspot.set_config(oauth_token_lifetime_s=1.0)
    hubspot.seed(companies=3, contacts=1000)
    hubspot.set_faults([{"path": OBJECTS, "action": "latency", "delay_s": 0.2, "times": None}])
    run = run_tap(oauth_config)
    assert len(run.records["contacts"]) == 1000
    stats = hubspot.stats()
    assert stats["routes"][TOKEN_ROUTE]["total"] >= 2
    assert status_count(stats, "401") == 0  # refreshed ahead of expiry, never rejected


def test_oauth_token_revoked_mid_sync_is_refreshed_once_on_401(
    hubspot: HubSpotEmulator, oauth_config: dict[str, Any]
) -> None:
    hubspot.seed(companies=3, contacts=1000)
    hubspot.set_faults([{"path": OBJECTS, "action": "latency", "delay_s": 0.1, "times": None}])
    expirer = threading.Timer(0.5, hubspot.expire_tokens)
    expirer.start()
    try:
        run = run_tap(oauth_config)
    finally:
        expirer.join()
    assert len(run.records["contacts"]) == 1000
    stats = hubspot.stats()
    assert status_count(stats, "401") == 1
    assert stats["routes"][TOKEN_ROUTE]["total"] == 2


def test_a_rejected_refresh_token_fails_with_what_to_fix(
    hubspot: HubSpotEmulator, oauth_config: dict[str, Any]
) -> None:
    again = r"invalid_grant.*Run `meltano invoke tap-hubspot-gather:connect` again"
    with pytest.raises(HubSpotAuthError, match=again) as caught:
        run_tap({**oauth_config, "refresh_token": "revoked-refresh-token-value"})
    assert "revoked-refresh-token-value" not in str(caught.value)


def test_missing_scope_fails_at_once_with_an_actionable_message(
    hubspot: HubSpotEmulator, config: dict[str, Any]
) -> None:
    hubspot.seed(companies=2, contacts=10)
    hubspot.set_faults([{"path": "/crm/objects/2026-09/contacts", "status": 403, "times": None}])
    with pytest.raises(HubSpotAuthError, match=r"HTTP 403.*scope") as caught:
        run_tap(config)
    assert status_count(hubspot.stats(), "403") == 1  # not retried
    assert hubspot.token not in str(caught.value)


def test_client_is_usable_outside_a_stream(hubspot: HubSpotEmulator) -> None:
    hubspot.seed(companies=3, contacts=5)
    client = HubSpotClient.from_config({"api_url": hubspot.url, "access_token": hubspot.token})
    body = client.get("/crm/properties/2026-09/contacts")
    assert any(p["name"] == "email" for p in body["results"])
    assert client.stats.requests == 1


RECOGNIZABLE_TOKEN = "pat-na1-SECRET-CANARY-7f3e9a"


def test_the_token_never_appears_in_output_logs_state_or_errors(
    hubspot: HubSpotEmulator, config: dict[str, Any], tmp_path: Path
) -> None:
    hubspot.add_credentials(tokens=[RECOGNIZABLE_TOKEN])
    hubspot.seed(companies=3, contacts=300)
    hubspot.set_faults(
        [
            {"path": OBJECTS, "status": 429, "times": 1},
            {"path": OBJECTS, "status": 500, "times": 1},
        ]
    )
    settings = {**config, "access_token": RECOGNIZABLE_TOKEN}
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(settings))
    ok = run_cli(config_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert '"type":"RECORD"' in ok.stdout.replace(" ", "")
    # A failing run too: the error path must not echo the token either.
    hubspot.set_faults([{"path": "/crm/objects/2026-09/companies", "status": 401, "times": None}])
    failed = run_cli(config_path)
    assert failed.returncode != 0
    assert "HTTP 401" in failed.stderr
    for result in (ok, failed):
        assert RECOGNIZABLE_TOKEN not in result.stdout
        assert RECOGNIZABLE_TOKEN not in result.stderr
        assert "SECRET-CANARY" not in result.stdout + result.stderr


def test_cli_runs_with_config_and_state_files(
    hubspot: HubSpotEmulator, config: dict[str, Any], tmp_path: Path
) -> None:
    hubspot.seed(companies=3, contacts=20)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    first = run_cli(config_path)
    assert first.returncode == 0, first.stderr[-2000:]
    last_state = [json.loads(line) for line in first.stdout.splitlines() if '"STATE"' in line][-1][
        "value"
    ]
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(last_state))
    second = run_cli(config_path, state_path)
    assert second.returncode == 0
    assert '"RECORD"' not in second.stdout


def test_oauth_secrets_never_appear_in_output_or_errors(
    hubspot: HubSpotEmulator, oauth_config: dict[str, Any], tmp_path: Path
) -> None:
    hubspot.seed(companies=3, contacts=50)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(oauth_config))
    ok = run_cli(config_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    bad_path = tmp_path / "bad.json"
    bad_path.write_text(json.dumps({**oauth_config, "client_secret": "wrong-secret-CANARY-42"}))
    failed = run_cli(bad_path)
    assert failed.returncode != 0
    assert "set client_id and client_secret" in failed.stderr
    secrets = [
        oauth_config["client_secret"],
        oauth_config["refresh_token"],
        "wrong-secret-CANARY-42",
    ]
    for result in (ok, failed):
        for secret in secrets:
            assert secret not in result.stdout + result.stderr


def test_an_unreachable_api_url_fails_naming_the_setting(config: dict[str, Any]) -> None:
    with pytest.raises(HubSpotError, match=r"Nothing answered at http://127\.0\.0\.1:9.*api_url"):
        run_tap({**config, "api_url": "http://127.0.0.1:9", "max_retries": 1})
