"""The shared fault injection and request statistics, over real HTTP on a toy app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from aiohttp import web

from emulators.common.faults import (
    FaultPlan,
    FaultRule,
    FaultRuleError,
    fault_middleware,
    parse_rules,
)
from emulators.common.server import BackgroundServer
from emulators.common.stats import RequestStats, stats_middleware

ADMIN = "/_emulator"


def render_error(request: web.Request, status: int, rule: FaultRule) -> web.StreamResponse:
    return web.json_response({"injected": status}, status=status)


@pytest.fixture
def toy() -> Iterator[tuple[str, FaultPlan, RequestStats]]:
    plan = FaultPlan()
    stats = RequestStats()
    app = web.Application(
        middlewares=[stats_middleware(stats, ADMIN), fault_middleware(plan, render_error, ADMIN)]
    )

    async def item(request: web.Request) -> web.StreamResponse:
        return web.json_response({"id": request.match_info["id"]})

    async def admin(request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True})

    app.router.add_get("/items/{id}", item)
    app.router.add_get(f"{ADMIN}/ping", admin)
    with BackgroundServer(app) as server:
        yield server.url, plan, stats


def test_status_rule_skips_then_fires_times_then_passes(toy: tuple[str, FaultPlan, RequestStats]):
    url, plan, stats = toy
    plan.replace(parse_rules([{"path": "^/items/", "status": 503, "skip": 1, "times": 2}]))
    statuses = [requests.get(f"{url}/items/{i}", timeout=5).status_code for i in range(5)]
    assert statuses == [200, 503, 503, 200, 200]
    assert stats.to_json()["routes"]["GET /items/{id}"] == {
        "total": 5,
        "by_status": {"200": 3, "503": 2},
    }


def test_retry_after_header_present_only_when_configured(toy: tuple[str, FaultPlan, RequestStats]):
    url, plan, _ = toy
    plan.replace(
        parse_rules(
            [
                {"path": "/items/1", "status": 429, "retry_after": 2},
                {"path": "/items/2", "status": 429},
            ]
        )
    )
    with_header = requests.get(f"{url}/items/1", timeout=5)
    without = requests.get(f"{url}/items/2", timeout=5)
    assert (with_header.status_code, with_header.headers.get("Retry-After")) == (429, "2")
    assert (without.status_code, without.headers.get("Retry-After")) == (429, None)


def test_every_nth_request_fires(toy: tuple[str, FaultPlan, RequestStats]):
    url, plan, _ = toy
    plan.replace([FaultRule(path="^/items/", status=500, every=3, times=None)])
    statuses = [requests.get(f"{url}/items/{i}", timeout=5).status_code for i in range(7)]
    assert statuses == [500, 200, 200, 500, 200, 200, 500]


def test_drop_closes_the_connection_without_a_response(toy: tuple[str, FaultPlan, RequestStats]):
    url, plan, stats = toy
    plan.replace([FaultRule(path="^/items/", action="drop")])
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/items/1", timeout=5)
    assert requests.get(f"{url}/items/1", timeout=5).status_code == 200
    assert stats.to_json()["routes"]["GET /items/{id}"]["by_status"] == {"200": 1, "dropped": 1}


def test_latency_delays_then_serves(toy: tuple[str, FaultPlan, RequestStats]):
    url, plan, _ = toy
    plan.replace([FaultRule(path="^/items/", action="latency", delay_s=1.0)])
    with pytest.raises(requests.Timeout):
        requests.get(f"{url}/items/1", timeout=0.2)
    assert requests.get(f"{url}/items/2", timeout=5).status_code == 200


def test_admin_paths_are_never_faulted_or_counted(toy: tuple[str, FaultPlan, RequestStats]):
    url, plan, stats = toy
    plan.replace([FaultRule(path=".*", status=503, times=None)])
    assert requests.get(f"{url}{ADMIN}/ping", timeout=5).status_code == 200
    assert stats.to_json()["total"] == 0


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"action": "explode"}, "fault action must be one of"),
        ({"every": 0}, "every >= 1"),
        ({"path": "("}, "not a valid regular expression"),
        ({"colour": "red"}, "unknown fault rule keys: colour"),
    ],
)
def test_malformed_rules_are_refused_with_a_reason(rule: dict[str, object], message: str):
    with pytest.raises(FaultRuleError, match=message):
        parse_rules([rule])
