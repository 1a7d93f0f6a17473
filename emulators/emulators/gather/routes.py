"""Gather's documented endpoints: record upserts and deletes, and events [DOC]+[SDK].

Every write commits before the response is built, and nothing awaits between reading a
record and writing it back, so concurrent upserts of one id are serialised on the event
loop and never lose a trait.
"""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web

from emulators.gather import errors
from emulators.gather.state import STATE, WORKSPACE, GatherState
from emulators.gather.validation import (
    BodyError,
    FieldError,
    peek_record_id,
    read_body,
    validate_event,
    validate_record,
)

RECORDS_PATH = "/models/{model}/records"
RECORD_PATH = "/models/{model}/records/{id}"
EVENTS_PATH = "/events"


def check_model(state: GatherState, model: str) -> None:
    """404 for a model id Gather would not know (only when ``known_models`` is set)."""
    known = state.config.known_models
    if known is not None and model not in known:
        raise web.HTTPNotFound


def path_record_id(request: web.Request) -> str:
    """The record id from the raw (still encoded) last path segment, decoded exactly once.

    Matching on the raw segment keeps ids holding ``/``, ``?``, ``%`` or ``..`` intact
    whatever the router does with the decoded path.
    """
    raw_path = request.raw_path.split("?", 1)[0]
    segment = raw_path.rsplit("/", 1)[-1]
    try:
        return unquote(segment, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise web.HTTPNotFound from exc


async def post_record(request: web.Request) -> web.Response:
    """Create (201) or merge into (200) a record; answer with the stored record, flat."""
    state = request.app[STATE]
    workspace = request[WORKSPACE]
    model = request.match_info["model"]
    check_model(state, model)
    try:
        body = await read_body(request)
        record_id = peek_record_id(body)
        creating = record_id is None or not workspace.store.exists(model, record_id)
        write = validate_record(model, body, creating=creating, rules=state.config.rules())
    except (BodyError, FieldError):
        workspace.counts.count(model, "rejected")
        raise
    result = workspace.store.upsert(model, write.id, write.traits)
    workspace.counts.count(model, "creates" if result.created else "updates")
    return web.json_response(result.record.flat(), status=201 if result.created else 200)


async def delete_record(request: web.Request) -> web.Response:
    """204 when the record existed, 404 otherwise [DOC-2018 path; codes INF]."""
    workspace = request[WORKSPACE]
    model = request.match_info["model"]
    check_model(request.app[STATE], model)
    if not workspace.store.delete(model, path_record_id(request)):
        workspace.counts.count(model, "delete_misses")
        return errors.detail(404, errors.NOT_FOUND)
    workspace.counts.count(model, "deletes")
    return web.Response(status=204)


async def post_event(request: web.Request) -> web.Response:
    """Store an event for one user or one account; 201 with the stored event."""
    workspace = request[WORKSPACE]
    try:
        event = validate_event(await read_body(request))
    except (BodyError, FieldError):
        workspace.counts.events["rejected"] += 1
        raise
    stored = workspace.store.add_event(event.type, event.user, event.account, event.properties)
    workspace.counts.events["accepted"] += 1
    return web.json_response(stored.to_json(), status=201)


def add_routes(app: web.Application) -> None:
    """Register the documented routes."""
    app.router.add_post(RECORDS_PATH, post_record)
    app.router.add_delete(RECORD_PATH, delete_record)
    app.router.add_post(EVENTS_PATH, post_event)
