"""The admin API under ``/_emulator`` (no auth, JSON): our extension, for tests and demos.

- ``POST /_emulator/reset``: drop all data, counts, faults; back to the start-up config.
- ``GET /_emulator/stats``, ``POST /_emulator/stats/reset``: requests by route and status,
  record creates / updates / deletes / rejections per model, events.
- ``GET|PUT|POST|DELETE /_emulator/faults``: show, replace, append to, clear the fault plan.
- ``GET|PUT /_emulator/config``: show or change switches (see `EmulatorConfig`).
- ``GET /_emulator/records/{model}``: every record of a model with its metadata.
- ``GET /_emulator/events``: every event.
- ``GET /_emulator/health``: liveness.

With several workspaces, ``?workspace=NAME`` picks one for the records, events and stats
(stats without it: the sums, plus each workspace's counts under ``workspaces``); records and
events without it are a 400 naming the workspaces.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from emulators.common.faults import FaultRuleError, parse_rules
from emulators.gather import errors
from emulators.gather.config import ConfigError
from emulators.gather.state import ADMIN_PREFIX, STATE, Workspace


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        detail = f"admin API bodies are JSON: {exc}"
        raise web.HTTPBadRequest(
            text=json.dumps({"detail": detail}), content_type="application/json"
        ) from exc


class UnknownWorkspaceError(web.HTTPBadRequest):
    """The admin request names no workspace, or one that does not exist."""

    def __init__(self, detail: str) -> None:
        super().__init__(text=json.dumps({"detail": detail}), content_type="application/json")


def _workspace(request: web.Request) -> Workspace:
    """The ``?workspace=`` named, or the only one."""
    workspaces = request.app[STATE].workspaces
    name = request.query.get("workspace")
    if name is None and len(workspaces) == 1:
        return next(iter(workspaces.values()))
    if name in workspaces:
        return workspaces[name]
    known = ", ".join(sorted(workspaces))
    problem = "no workspace named" if name is None else f"unknown workspace {name!r}"
    raise UnknownWorkspaceError(f"{problem}: add ?workspace= one of {known}")


def _data_path(workspace: Workspace) -> str:
    return str(workspace.store.path) if workspace.store.path else ":memory:"


async def health(request: web.Request) -> web.Response:
    """Liveness, and where the data lives (``workspaces``: each workspace's data)."""
    workspaces = request.app[STATE].workspaces
    first = next(iter(workspaces.values()))
    return web.json_response(
        {
            "ok": True,
            "data": _data_path(first),
            "workspaces": {name: _data_path(ws) for name, ws in workspaces.items()},
        }
    )


async def reset(request: web.Request) -> web.Response:
    """Forget everything (data, counts, faults, config changes)."""
    request.app[STATE].reset()
    return web.json_response({"reset": True})


async def get_stats(request: web.Request) -> web.Response:
    """Request counts by route and status, plus write outcomes."""
    state = request.app[STATE]
    requests = state.stats.to_json()
    if "workspace" in request.query:
        return web.json_response({"requests": requests, **_workspace(request).counts.to_json()})
    per_workspace = {name: ws.counts.to_json() for name, ws in state.workspaces.items()}
    return web.json_response(
        {"requests": requests, **state.totals().to_json(), "workspaces": per_workspace}
    )


async def reset_stats(request: web.Request) -> web.Response:
    """Zero the counters (data is kept)."""
    state = request.app[STATE]
    state.stats.reset()
    for workspace in state.workspaces.values():
        workspace.counts.reset()
    return web.json_response({"reset": True})


def _rules_response(request: web.Request) -> web.Response:
    plan = request.app[STATE].plan
    return web.json_response({"rules": [rule.to_json() for rule in plan.rules]})


async def get_faults(request: web.Request) -> web.Response:
    """The fault plan with each rule's counters."""
    return _rules_response(request)


async def change_faults(request: web.Request) -> web.Response:
    """PUT replaces the plan, POST appends to it, DELETE clears it."""
    plan = request.app[STATE].plan
    if request.method == "DELETE":
        plan.clear()
        return _rules_response(request)
    try:
        rules = parse_rules(await _json_body(request))
    except FaultRuleError as exc:
        return errors.detail(400, str(exc))
    if request.method == "PUT":
        plan.replace(rules)
    else:
        plan.extend(rules)
    return _rules_response(request)


async def get_config(request: web.Request) -> web.Response:
    """The current switches."""
    return web.json_response(request.app[STATE].config.to_json())


async def put_config(request: web.Request) -> web.Response:
    """Change the keys given; the others keep their values."""
    state = request.app[STATE]
    try:
        state.set_config(state.config.updated(await _json_body(request)))
    except ConfigError as exc:
        return errors.detail(400, str(exc))
    return web.json_response(state.config.to_json())


async def dump_records(request: web.Request) -> web.Response:
    """``{"model", "count", "records": {id: {"traits": {...}, "_meta": {...}}}}``."""
    store = _workspace(request).store
    model = request.match_info["model"]
    records = {
        record.id: {"traits": record.traits, "_meta": record.meta()}
        for record in store.all_records(model)
    }
    return web.json_response({"model": model, "count": len(records), "records": records})


async def dump_events(request: web.Request) -> web.Response:
    """``{"count", "events": [...]}`` in arrival order."""
    events = [event.to_json() for event in _workspace(request).store.events({})]
    return web.json_response({"count": len(events), "events": events})


def add_routes(app: web.Application) -> None:
    """Register the admin routes under `ADMIN_PREFIX`."""
    p = ADMIN_PREFIX
    app.router.add_get(f"{p}/health", health, allow_head=False)
    app.router.add_post(f"{p}/reset", reset)
    app.router.add_get(f"{p}/stats", get_stats, allow_head=False)
    app.router.add_post(f"{p}/stats/reset", reset_stats)
    app.router.add_get(f"{p}/faults", get_faults, allow_head=False)
    for method in ("PUT", "POST", "DELETE"):
        app.router.add_route(method, f"{p}/faults", change_faults)
    app.router.add_get(f"{p}/config", get_config, allow_head=False)
    app.router.add_put(f"{p}/config", put_config)
    app.router.add_get(f"{p}/records/{{model}}", dump_records, allow_head=False)
    app.router.add_get(f"{p}/events", dump_events, allow_head=False)
