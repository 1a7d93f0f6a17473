"""The admin API under `/_emulator`: change the portal between runs and look inside it.

JSON in and out, no auth. Errors answer 4xx with ``{"error": "<what went wrong and what to
do>"}``. Routes (see the README's HubSpot section for bodies):
reset, seed, objects (create, update, archive, merge, permanent delete, touch, dump), time
travel, stats, config, faults, credentials, Service Keys and OAuth token expiry.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from emulators.common.faults import FaultRuleError, parse_rules
from emulators.hubspot.auth import CredentialError, OAuthClient
from emulators.hubspot.config import ConfigError
from emulators.hubspot.errors import json_response
from emulators.hubspot.model import Store, StoreError
from emulators.hubspot.search import SearchEngine
from emulators.hubspot.seed import SeedError, SeedOptions, seed_store
from emulators.hubspot.state import ADMIN_PREFIX, HubSpotState, state_of
from emulators.hubspot.timeutil import parse_ms

_ADMIN_ERRORS = (StoreError, ConfigError, FaultRuleError, SeedError, CredentialError)


class AdminError(Exception):
    """A malformed admin request."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return {}
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        msg = "the admin API takes a JSON body; this one is not valid JSON"
        raise AdminError(msg) from None


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        msg = "send a JSON object"
        raise AdminError(msg)
    return body


def _int_id(raw: Any, what: str) -> int:
    try:
        return int(str(raw))
    except ValueError:
        msg = f"{what} must be a numeric record id, got {raw!r}"
        raise AdminError(msg) from None


@web.middleware
async def admin_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Answer admin mistakes with a JSON error that says what to fix."""
    if not request.path.startswith(ADMIN_PREFIX):
        response: web.StreamResponse = await handler(request)
        return response
    try:
        response = await handler(request)
    except AdminError as exc:
        return json_response({"error": str(exc)}, status=exc.status)
    except StoreError as exc:
        return json_response({"error": str(exc)}, status=exc.status)
    except _ADMIN_ERRORS as exc:
        return json_response({"error": str(exc)}, status=400)
    return response


def reset_data(state: HubSpotState, extra_properties: int = 0) -> None:
    """A fresh empty portal: data, rate windows, faults and stats (config and tokens stay)."""
    state.store = Store(extra_properties)
    state.webhooks.reset()
    state.webhooks.attach(state.store)
    state.search = SearchEngine()
    state.limiter.reset()
    state.faults.clear()
    state.stats.reset()


async def reset(request: web.Request) -> web.Response:
    """`POST /_emulator/reset`."""
    reset_data(state_of(request))
    return json_response({"ok": True})


def apply_seed(state: HubSpotState, payload: Any) -> dict[str, Any]:
    """Replace the data with a seeded portal; returns counts and id ranges."""
    options = SeedOptions.from_json(payload)
    if isinstance(payload, dict) and "epoch_ms_date_share" in payload:
        state.config.update({"epoch_ms_date_share": payload["epoch_ms_date_share"]})
    state.store = Store(options.custom_properties)
    state.search = SearchEngine()
    seed_store(state.store, options)
    state.webhooks.clear_journal()  # seeding writes no events; subscriptions stay
    state.webhooks.attach(state.store)
    summary: dict[str, Any] = {"custom_properties": options.custom_properties}
    for name, table in state.store.tables.items():
        summary[name] = len(table.active)
        summary[f"{name}_first_id"] = str(table.active[0]) if table.active else None
        summary[f"{name}_last_id"] = str(table.active[-1]) if table.active else None
    return summary


async def seed(request: web.Request) -> web.Response:
    """`POST /_emulator/seed`: options as in `SeedOptions` (plus `epoch_ms_date_share`)."""
    return json_response(apply_seed(state_of(request), await _body(request)))


def _associations(body: dict[str, Any]) -> tuple[list[int] | None, int | None]:
    ids = body.get("company_ids")
    primary = body.get("primary_company_id")
    companies = None if ids is None else [_int_id(i, "company_ids") for i in ids]
    return companies, None if primary is None else _int_id(primary, "primary_company_id")


async def create_object(request: web.Request) -> web.Response:
    """`POST /_emulator/objects/{type}`: `{"properties", "primary_company_id"?, "company_ids"?}`."""
    state = state_of(request)
    object_type = request.match_info["object_type"]
    body = _object(await _body(request))
    companies, primary = _associations(body)
    if object_type != "contacts" and (companies or primary):
        msg = "company_ids / primary_company_id apply to contacts only"
        raise AdminError(msg)
    store = state.store
    record = store.create(
        object_type,
        body.get("properties") or {},
        company_ids=companies or [],
        primary_company_id=primary,
    )
    table = store.table(object_type)
    return json_response(store.dump_record(table, record), status=201)


async def update_object(request: web.Request) -> web.Response:
    """`PATCH /_emulator/objects/{type}/{id}`: new property values (and contact associations)."""
    state = state_of(request)
    object_type = request.match_info["object_type"]
    record_id = _int_id(request.match_info["object_id"], "id")
    body = _object(await _body(request))
    store = state.store
    companies, primary = _associations(body)
    repoint = companies is not None or primary is not None
    if body.get("properties") or not repoint:  # a bare re-pointing is no property write
        record = store.update(object_type, record_id, body.get("properties") or {})
    else:
        record = store.active(object_type, record_id)
    if repoint:
        if object_type != "contacts":
            msg = "company_ids / primary_company_id apply to contacts only"
            raise AdminError(msg)
        if companies is None:  # only the primary changes; the other associations stay
            companies = list(record.company_ids)
        record = store.set_associations(
            record_id, companies, primary, bump=state.config.association_changes_touch_contacts
        )
    return json_response(store.dump_record(store.table(object_type), record))


async def archive_object(request: web.Request) -> web.Response:
    """`POST /_emulator/objects/{type}/{id}/archive`."""
    state = state_of(request)
    store = state.store
    object_type = request.match_info["object_type"]
    record = store.archive(
        object_type,
        _int_id(request.match_info["object_id"], "id"),
        bump=state.config.association_changes_touch_contacts,
    )
    return json_response(store.dump_record(store.table(object_type), record))


async def purge_object(request: web.Request) -> web.Response:
    """`POST /_emulator/objects/{type}/{id}/purge`: delete permanently (active or archived)."""
    state = state_of(request)
    store = state.store
    object_type = request.match_info["object_type"]
    privacy = _object(await _body(request)).get("privacy", False)
    if not isinstance(privacy, bool):
        msg = 'privacy must be true (a GDPR delete) or false: {"privacy": true}'
        raise AdminError(msg)
    record = store.purge(
        object_type,
        _int_id(request.match_info["object_id"], "id"),
        bump=state.config.association_changes_touch_contacts,
        privacy=privacy,
    )
    return json_response({"purged": record.sid})


async def restore_object(request: web.Request) -> web.Response:
    """`POST /_emulator/objects/{type}/{id}/restore`: bring an archived record back."""
    store = state_of(request).store
    object_type = request.match_info["object_type"]
    record = store.restore(object_type, _int_id(request.match_info["object_id"], "id"))
    return json_response(store.dump_record(store.table(object_type), record))


async def time_travel(request: web.Request) -> web.Response:
    """`POST /_emulator/time-travel`: `{"days"|"seconds": n}` make every stored moment that
    much older, then purge archives past their retention."""
    state = state_of(request)
    body = _object(await _body(request))
    days, seconds = body.get("days", 0), body.get("seconds", 0)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (days, seconds)):
        msg = 'send {"days": n} and/or {"seconds": n} (non-negative numbers)'
        raise AdminError(msg)
    shift_ms = int((days * 86_400 + seconds) * 1000)
    if shift_ms < 0:
        msg = "time only travels forward: days and seconds must not be negative"
        raise AdminError(msg)
    state.store.time_travel(shift_ms)
    state.webhooks.time_travel(shift_ms)
    purged = state.store.expire_archives(state.config.archive_retention_ms)
    return json_response({"shifted_ms": shift_ms, "purged": purged})


async def merge_objects(request: web.Request) -> web.Response:
    """`POST /_emulator/objects/{type}/merge`: `{"primary_id", "merged_id", "new_id"?}`
    (`new_id` defaults to the `merge_new_id` config)."""
    store = state_of(request).store
    object_type = request.match_info["object_type"]
    body = _object(await _body(request))
    if "primary_id" not in body or "merged_id" not in body:
        msg = 'send {"primary_id": ..., "merged_id": ..., "new_id"?: true|false}'
        raise AdminError(msg)
    config = state_of(request).config
    new_id = body.get("new_id", config.merge_new_id)
    if not isinstance(new_id, bool):
        msg = "new_id must be true (a new record, HubSpot's current merge) or false (legacy)"
        raise AdminError(msg)
    record = store.merge(
        object_type,
        _int_id(body["primary_id"], "primary_id"),
        _int_id(body["merged_id"], "merged_id"),
        new_id=new_id,
        bump=config.association_changes_touch_contacts,
    )
    return json_response(store.dump_record(store.table(object_type), record))


async def touch_objects(request: web.Request) -> web.Response:
    """`POST /_emulator/objects/{type}/touch`: `{"ids"|"all", "count"?, "timestamp"?}`."""
    store = state_of(request).store
    body = _object(await _body(request))
    ids = body.get("ids")
    if ids is None and not body.get("all"):
        msg = 'say which records to touch: {"ids": [...]} or {"all": true} (optionally "count": n)'
        raise AdminError(msg)
    stamp = body.get("timestamp")
    stamp_ms = None
    if stamp is not None:
        stamp_ms = parse_ms(str(stamp))
        if stamp_ms is None:
            msg = f"timestamp must be ISO 8601 or epoch ms, got {stamp!r}"
            raise AdminError(msg)
    count = body.get("count")
    if count is not None and (not isinstance(count, int) or count < 0):
        msg = "count must be a non-negative integer"
        raise AdminError(msg)
    touched = store.touch(
        request.match_info["object_type"],
        ids=None if ids is None else [_int_id(i, "ids") for i in ids],
        count=count,
        timestamp_ms=stamp_ms,
    )
    return json_response({"touched": touched})


async def dump_objects(request: web.Request) -> web.Response:
    """`GET /_emulator/objects/{type}?archived=any|true|false`."""
    state = state_of(request)
    store = state.store
    store.expire_archives(state.config.archive_retention_ms)
    archived = request.query.get("archived", "false")
    return json_response({"results": store.dump(request.match_info["object_type"], archived)})


async def get_stats(request: web.Request) -> web.Response:
    """`GET /_emulator/stats`: request counts by route and status."""
    return json_response(state_of(request).stats.to_json())


async def reset_stats(request: web.Request) -> web.Response:
    """`POST /_emulator/stats/reset`."""
    state_of(request).stats.reset()
    return json_response({"ok": True})


async def get_config(request: web.Request) -> web.Response:
    """`GET /_emulator/config`."""
    return json_response(state_of(request).config.to_json())


async def put_config(request: web.Request) -> web.Response:
    """`PUT /_emulator/config`: a partial object of settings."""
    state = state_of(request)
    state.config.update(await _body(request))
    return json_response(state.config.to_json())


async def get_faults(request: web.Request) -> web.Response:
    """`GET /_emulator/faults`: the plan with its counters."""
    return json_response({"rules": [r.to_json() for r in state_of(request).faults.rules]})


async def put_faults(request: web.Request) -> web.Response:
    """`PUT /_emulator/faults`: replace the plan."""
    plan = state_of(request).faults
    plan.replace(parse_rules(await _body(request)))
    return json_response({"rules": [r.to_json() for r in plan.rules]})


async def post_faults(request: web.Request) -> web.Response:
    """`POST /_emulator/faults`: append rules."""
    plan = state_of(request).faults
    plan.extend(parse_rules(await _body(request)))
    return json_response({"rules": [r.to_json() for r in plan.rules]})


async def delete_faults(request: web.Request) -> web.Response:
    """`DELETE /_emulator/faults`: clear the plan."""
    state_of(request).faults.clear()
    return json_response({"rules": []})


async def add_credentials(request: web.Request) -> web.Response:
    """`POST /_emulator/credentials`: `{"tokens": [...], "oauth_clients": ["ID:SECRET:RT"]}`."""
    body = _object(await _body(request))
    clients = [OAuthClient.parse(str(c)) for c in body.get("oauth_clients") or []]
    state_of(request).auth.add([str(t) for t in body.get("tokens") or []], clients)
    return json_response({"ok": True})


async def create_service_key(request: web.Request) -> web.Response:
    """`POST /_emulator/service-keys`: `{"scopes": [...], "key"?: "pat-…"}` -> `{"key",
    "scopes"}` (a new `pat-na1-…` key unless one is given; giving an existing key replaces its
    scopes)."""
    body = _object(await _body(request))
    scopes = body.get("scopes")
    if not isinstance(scopes, list):
        msg = 'send {"scopes": ["crm.objects.contacts.read", ...], "key"?: "pat-..."}'
        raise AdminError(msg)
    key = body.get("key")
    made, granted = state_of(request).auth.add_service_key(
        None if key is None else str(key), [str(s) for s in scopes]
    )
    return json_response({"key": made, "scopes": list(granted)}, status=201)


async def delete_service_key(request: web.Request) -> web.Response:
    """`DELETE /_emulator/service-keys`: `{"key": "pat-…"}`; the key stops working (401)."""
    body = _object(await _body(request))
    if not state_of(request).auth.remove_service_key(str(body.get("key", ""))):
        msg = "no such service key"
        raise AdminError(msg, status=404)
    return json_response({"deleted": True})


async def expire_tokens(request: web.Request) -> web.Response:
    """`POST /_emulator/oauth/expire`: every issued access token is stale from now."""
    return json_response({"expired": state_of(request).auth.expire_all()})


def add_admin_routes(app: web.Application) -> None:
    """Register the admin API under its prefix."""
    p = ADMIN_PREFIX
    objects = p + "/objects/{object_type}"
    app.router.add_post(p + "/reset", reset)
    app.router.add_post(p + "/seed", seed)
    app.router.add_get(objects, dump_objects)
    app.router.add_post(objects, create_object)
    app.router.add_post(objects + "/merge", merge_objects)
    app.router.add_post(objects + "/touch", touch_objects)
    app.router.add_patch(objects + "/{object_id}", update_object)
    app.router.add_post(objects + "/{object_id}/archive", archive_object)
    app.router.add_post(objects + "/{object_id}/purge", purge_object)
    app.router.add_post(objects + "/{object_id}/restore", restore_object)
    app.router.add_post(p + "/time-travel", time_travel)
    app.router.add_get(p + "/stats", get_stats)
    app.router.add_post(p + "/stats/reset", reset_stats)
    app.router.add_get(p + "/config", get_config)
    app.router.add_put(p + "/config", put_config)
    app.router.add_get(p + "/faults", get_faults)
    app.router.add_put(p + "/faults", put_faults)
    app.router.add_post(p + "/faults", post_faults)
    app.router.add_delete(p + "/faults", delete_faults)
    app.router.add_post(p + "/credentials", add_credentials)
    app.router.add_post(p + "/oauth/expire", expire_tokens)
    app.router.add_post(p + "/service-keys", create_service_key)
    app.router.add_delete(p + "/service-keys", delete_service_key)
