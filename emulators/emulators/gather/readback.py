"""Read-back endpoints: our extension, not part of Gather's documented API.

Gather documents no read endpoints; these let tests and users see what a sync wrote.
Lists use the pagination shape of Gather's internal app API [INT]:
``{"results": [...], "meta": {"total_results", "total_pages", "page", "per_page"}}``.
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from emulators.gather import errors
from emulators.gather.routes import (
    EVENTS_PATH,
    RECORD_PATH,
    RECORDS_PATH,
    check_model,
    path_record_id,
)
from emulators.gather.state import STATE, WORKSPACE
from emulators.gather.store import EVENT_FILTER_COLUMNS
from emulators.gather.validation import FieldError

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000  # our own cap, keeps one response small
INVALID_INTEGER = "A valid integer is required."


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise FieldError({name: [INVALID_INTEGER]}) from exc
    if not low <= value <= high:
        raise FieldError({name: [f"Ensure this value is between {low} and {high}."]})
    return value


def _paging(request: web.Request) -> tuple[int, int]:
    page = _int_param(request, "page", 1, 1, 10**9)
    per_page = _int_param(request, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return page, per_page


def _meta(total: int, page: int, per_page: int) -> dict[str, int]:
    return {
        "total_results": total,
        "total_pages": math.ceil(total / per_page),
        "page": page,
        "per_page": per_page,
    }


async def get_record(request: web.Request) -> web.Response:
    """One record, flat, with ``_meta`` (created_at, updated_at, writes)."""
    model = request.match_info["model"]
    check_model(request.app[STATE], model)
    record = request[WORKSPACE].store.get(model, path_record_id(request))
    if record is None:
        return errors.detail(404, errors.NOT_FOUND)
    return web.json_response({**record.flat(), "_meta": record.meta()})


async def list_records(request: web.Request) -> web.Response:
    """A page of a model's records ordered by id; ``account_id=`` filters (users)."""
    store = request[WORKSPACE].store
    model = request.match_info["model"]
    check_model(request.app[STATE], model)
    page, per_page = _paging(request)
    account_id = request.query.get("account_id")
    total = store.count(model, account_id)
    records = store.page(model, (page - 1) * per_page, per_page, account_id)
    results: list[dict[str, Any]] = [{**r.flat(), "_meta": r.meta()} for r in records]
    return web.json_response({"results": results, "meta": _meta(total, page, per_page)})


async def list_events(request: web.Request) -> web.Response:
    """A page of events in arrival order, filtered by ``user=``, ``account=``, ``type=``."""
    store = request[WORKSPACE].store
    page, per_page = _paging(request)
    filters = {k: v for k, v in request.query.items() if k in EVENT_FILTER_COLUMNS}
    total = store.count_events(filters)
    events = store.events(filters, (page - 1) * per_page, per_page)
    results = [event.to_json() for event in events]
    return web.json_response({"results": results, "meta": _meta(total, page, per_page)})


def add_routes(app: web.Application) -> None:
    """Register the read-back routes."""
    app.router.add_get(RECORD_PATH, get_record, allow_head=False)
    app.router.add_get(RECORDS_PATH, list_records, allow_head=False)
    app.router.add_get(EVENTS_PATH, list_events, allow_head=False)
