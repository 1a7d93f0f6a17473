"""The admin API: stats, reset, fault injection, rate limit and config switches."""

from __future__ import annotations

import time

import pytest
import requests

from emulators.gather.config import EmulatorConfig
from emulators.gather.pytest_plugin import GatherEmulator, GatherEmulatorFactory
from tests.emulators.gather.conftest import ACCOUNT, USER, Api

POST_RECORDS = "POST /models/{model}/records"


def test_stats_count_requests_by_route_and_status_and_writes_by_model(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    api.upsert("account", ACCOUNT)
    api.upsert("account", {"id": "acct-1", "size": 1})
    api.upsert("account", {"id": "acct-2"})
    api.upsert("user", USER)
    api.delete_record("account", "acct-1")
    api.delete_record("account", "acct-1")
    api.post("/events", json={"type": "x", "user": "user-1"})
    stats = gather_emulator.stats()
    routes = stats["requests"]["routes"]
    assert routes[POST_RECORDS] == {"total": 4, "by_status": {"200": 1, "201": 2, "400": 1}}
    assert routes["DELETE /models/{model}/records/{id}"]["by_status"] == {"204": 1, "404": 1}
    assert routes["POST /events"]["by_status"] == {"201": 1}
    assert stats["requests"]["total"] == 7
    assert stats["records"]["account"] == {
        "creates": 1,
        "updates": 1,
        "deletes": 1,
        "delete_misses": 1,
        "rejected": 1,
    }
    assert stats["records"]["user"]["creates"] == 1
    assert stats["events"] == {"accepted": 1, "rejected": 0}


def test_stats_reset_keeps_data(api: Api, gather_emulator: GatherEmulator) -> None:
    api.upsert("account", ACCOUNT)
    gather_emulator.reset_stats()
    assert gather_emulator.stats()["requests"]["total"] == 0
    assert gather_emulator.stats()["records"] == {}
    assert gather_emulator.records("account") != {}


def test_reset_drops_data_counts_faults_and_config(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    api.upsert("account", ACCOUNT)
    api.post("/events", json={"type": "x", "user": "u"})
    gather_emulator.set_faults([{"path": "/events", "status": 500, "times": None}])
    gather_emulator.set_config(require_traits_on_update=True, latency_s=0.01)
    gather_emulator.reset()
    assert gather_emulator.records("account") == {}
    assert gather_emulator.events() == []
    assert gather_emulator.faults() == []
    assert gather_emulator.stats()["requests"]["total"] == 0
    assert gather_emulator.config()["require_traits_on_update"] is False
    assert api.post("/events", json={"type": "x", "user": "u"}).status_code == 201


def test_records_dump_includes_meta(api: Api, gather_emulator: GatherEmulator) -> None:
    api.upsert("account", ACCOUNT)
    api.upsert("account", {"id": "acct-1", "size": 1})
    dump = gather_emulator.records_with_meta("account")
    assert dump["acct-1"]["traits"] == {"name": "Lovelace, Inc", "size": 1}
    assert dump["acct-1"]["_meta"]["writes"] == 2


def test_injected_429_with_retry_after_then_recovery(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    gather_emulator.set_faults(
        [{"path": "^/models/account/records$", "status": 429, "retry_after": 3, "times": 2}]
    )
    first = api.upsert("account", ACCOUNT)
    second = api.upsert("account", ACCOUNT)
    third = api.upsert("account", ACCOUNT)
    assert [first.status_code, second.status_code, third.status_code] == [429, 429, 201]
    assert first.headers["Retry-After"] == "3"
    assert first.json() == {"detail": "Request was throttled. Expected available in 3 seconds."}
    routes = gather_emulator.stats()["requests"]["routes"]
    assert routes[POST_RECORDS]["by_status"] == {"201": 1, "429": 2}
    assert gather_emulator.faults()[0]["fired"] == 2


def test_injected_429_without_retry_after(api: Api, gather_emulator: GatherEmulator) -> None:
    gather_emulator.set_faults([{"status": 429}])
    response = api.upsert("account", ACCOUNT)
    assert response.status_code == 429
    assert "Retry-After" not in response.headers
    assert response.json() == {"detail": "Request was throttled."}
    assert gather_emulator.records("account") == {}


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_injected_5xx_stores_nothing(
    api: Api, gather_emulator: GatherEmulator, status: int
) -> None:
    gather_emulator.set_faults([{"method": "POST", "status": status}])
    response = api.upsert("account", ACCOUNT)
    assert response.status_code == status
    assert response.json() == {"detail": "Server error"}
    assert gather_emulator.records("account") == {}


def test_fault_schedule_skip_and_every_is_deterministic(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    gather_emulator.set_faults([{"status": 503, "skip": 2, "every": 2, "times": None}])
    codes = [api.upsert("orders", {"id": f"o{i}"}).status_code for i in range(7)]
    assert codes == [201, 201, 503, 201, 503, 201, 503]


def test_dropped_connection_then_next_request_succeeds(
    api: Api, gather_emulator: GatherEmulator
) -> None:
    gather_emulator.set_faults([{"action": "drop"}])
    with pytest.raises(requests.ConnectionError):
        requests.post(
            f"{api.url}/models/account/records", json=ACCOUNT, headers=gather_emulator.auth_headers
        )
    assert gather_emulator.records("account") == {}
    assert gather_emulator.faults()[0]["fired"] == 1
    assert api.upsert("account", ACCOUNT).status_code == 201


def test_injected_latency_delays_but_serves(api: Api, gather_emulator: GatherEmulator) -> None:
    gather_emulator.set_faults([{"action": "latency", "delay_s": 0.2}])
    started = time.monotonic()
    response = api.upsert("account", ACCOUNT)
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 201


def test_config_latency_delays_every_api_request(api: Api, gather_emulator: GatherEmulator) -> None:
    gather_emulator.set_config(latency_s=0.1)
    started = time.monotonic()
    api.upsert("account", ACCOUNT)
    api.upsert("account", ACCOUNT)
    assert time.monotonic() - started >= 0.2


def test_rate_limit_answers_429_with_retry_after(api: Api, gather_emulator: GatherEmulator) -> None:
    gather_emulator.set_config(rate_limit_per_s=0.5, rate_limit_burst=2)
    codes = [api.upsert("orders", {"id": f"o{i}"}) for i in range(3)]
    assert [r.status_code for r in codes] == [201, 201, 429]
    assert codes[2].headers["Retry-After"] == "2"
    assert codes[2].json() == {"detail": "Request was throttled. Expected available in 2 seconds."}
    assert set(gather_emulator.records("orders")) == {"o0", "o1"}
    gather_emulator.set_config(rate_limit_per_s=None)
    assert api.upsert("orders", {"id": "o9"}).status_code == 201


def test_config_rejects_unknown_keys_and_bad_values(gather_emulator: GatherEmulator) -> None:
    url = f"{gather_emulator.url}/_emulator/config"
    unknown = requests.put(url, json={"rate_limit": 5})
    assert unknown.status_code == 400
    assert "rate_limit" in unknown.json()["detail"]
    assert "rate_limit_per_s" in unknown.json()["detail"]
    for body in ({"latency_s": -1}, {"strict_email": "yes"}, {"rate_limit_per_s": 0}, [1]):
        assert requests.put(url, json=body).status_code == 400, body


def test_bad_fault_rules_are_refused(gather_emulator: GatherEmulator) -> None:
    url = f"{gather_emulator.url}/_emulator/faults"
    assert requests.put(url, json=[{"action": "explode"}]).status_code == 400
    assert requests.put(url, json=[{"bogus": 1}]).status_code == 400
    assert requests.put(url, data=b"{").status_code == 400
    assert gather_emulator.faults() == []


def test_faults_can_be_appended_and_cleared(gather_emulator: GatherEmulator) -> None:
    gather_emulator.set_faults([{"status": 500}])
    assert len(gather_emulator.add_faults([{"status": 502}])) == 2
    gather_emulator.clear_faults()
    assert gather_emulator.faults() == []


def test_admin_paths_are_not_faulted_or_counted(api: Api, gather_emulator: GatherEmulator) -> None:
    gather_emulator.set_faults([{"status": 503, "times": None}])
    assert gather_emulator.records("account") == {}  # admin still answers
    assert gather_emulator.stats()["requests"]["total"] == 0


def test_reset_restores_the_start_up_config_of_the_factory(
    gather_emulator_factory: GatherEmulatorFactory,
) -> None:
    emulator = gather_emulator_factory.start(
        config=EmulatorConfig(require_traits_on_update=True), in_memory=True
    )
    emulator.set_config(require_traits_on_update=False)
    emulator.reset()
    assert emulator.config()["require_traits_on_update"] is True
    assert not emulator.data_dir.exists()
