"""HubSpot's own paths: objects (list, read, batch read, search, merge, GDPR delete),
properties, v4 associations batch read and the OAuth token endpoint, with HubSpot's shapes and
limits; the date-versioned paths (`emulators.hubspot.versions`) use the same handlers.

Ids absorbed by a new-id merge resolve to the merged record on every read by id (single read,
batch read, v4 association batch read): HubSpot documents it for single reads; users observe
it for batch reads, the result carrying the merged record's id
(https://community.hubspot.com/t5/APIs-Integrations/Question-about-using-batch-read-API/m-p/1101616);
the merged record comes once however many of its old ids were asked (our choice). Lists and
search never show absorbed ids."""

from __future__ import annotations

import bisect
from typing import Any

import msgspec
from aiohttp import web

from emulators.hubspot.auth import RefreshPolicy
from emulators.hubspot.errors import (
    HubSpotError,
    error_body,
    json_response,
    not_found,
    validation_error,
)
from emulators.hubspot.model import StoreError, Table
from emulators.hubspot.properties import (
    LIST_DEFAULT_PROPERTIES,
    SEARCH_DEFAULT_PROPERTIES,
)
from emulators.hubspot.render import (
    Renderer,
    association_types,
    inline_associations,
    select_properties,
)
from emulators.hubspot.search import parse_search
from emulators.hubspot.state import HubSpotState, state_of
from emulators.hubspot.timeutil import iso_ms
from emulators.hubspot.versions import empty_last_paging

# Default page size of the list endpoint (https://developers.hubspot.com/docs/api/crm/contacts).
DEFAULT_LIST_LIMIT = 10
# v4 associations returned per input before `paging` appears ("Limit 500 per call", spec).
ASSOCIATION_PAGE = 500
# Records per list page (and, EMULATOR CHOICE, per batch read) with `propertiesWithHistory`:
# "Usage of this parameter will reduce the maximum number of contacts that can be read by a
# single request" (spec); observed 50 on list pages, limit=100 answering 400
# (https://github.com/HubSpot/hubspot-api-python/issues/143). HubSpot says nothing of batch
# reads; the emulator applies the same 50, the stricter reading a client must survive.
HISTORY_PAGE_MAX = 50
_NOUN = {"contacts": "contact", "companies": "company", "deals": "deal"}
_SINGULAR = {"contacts": "CONTACT", "companies": "COMPANY", "deals": "DEAL"}
_decoder = msgspec.json.Decoder()


def _table(state: HubSpotState, object_type: str) -> Table:
    try:
        return state.store.table(object_type)
    except StoreError:
        msg = (
            f"Unable to infer object type from: {object_type}; "
            "this emulator serves contacts and companies."
        )
        raise HubSpotError(400, error_body("VALIDATION_ERROR", msg)) from None


def _csv(request: web.Request, name: str) -> list[str] | None:
    """A list parameter sent as a comma list and/or repeated (the Python SDK repeats it)."""
    raw = request.query.getall(name, [])
    if not raw:
        return None
    return [item.strip() for value in raw for item in value.split(",") if item.strip()]


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "false").lower() == "true"


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return _decoder.decode(raw) if raw else {}
    except msgspec.DecodeError:
        msg = "Invalid input JSON: the request body is not valid JSON."
        raise HubSpotError(400, error_body("VALIDATION_ERROR", msg)) from None


def _now_iso(state: HubSpotState) -> str:
    return iso_ms(state.store.clock())


async def list_objects(request: web.Request) -> web.Response:
    """`GET /crm/v3/objects/{type}`: ascending ids, `after` is the next record's id."""
    state = state_of(request)
    table = _table(state, request.match_info["object_type"])
    config = state.config
    try:
        limit = int(request.query.get("limit", DEFAULT_LIST_LIMIT))
    except ValueError:
        raise validation_error("limit must be an integer") from None
    if limit < 1:
        raise validation_error("limit must be at least 1")
    history = _csv(request, "propertiesWithHistory") or []
    if history and limit > HISTORY_PAGE_MAX:
        raise validation_error(
            f"limit must be at most {HISTORY_PAGE_MAX} when propertiesWithHistory is requested"
        )
    if limit > config.list_limit_max:
        if config.list_limit_over_max == "error":
            raise validation_error(f"limit must be at most {config.list_limit_max}")
        limit = config.list_limit_max
    after_raw = request.query.get("after")
    start = 0
    ids = table.ids(archived=_flag(request, "archived"))
    if after_raw:
        try:
            start = bisect.bisect_left(ids, int(after_raw))
        except ValueError:
            raise validation_error(f"after must be a record id, got {after_raw!r}") from None
    page = ids[start : start + limit]
    names = select_properties(
        table, _csv(request, "properties"), LIST_DEFAULT_PROPERTIES[table.object_type]
    )
    renderer = Renderer(table, names, config, history=history)
    wanted = _csv(request, "associations") or []
    records = table.records
    results = []
    for record_id in page:
        record = records[record_id]
        item = renderer.record(record)
        if wanted:
            assoc = inline_associations(state.store, table, record, wanted)
            if assoc is not None:
                item["associations"] = assoc
        results.append(item)
    body: dict[str, Any] = {"results": results}
    if start + limit < len(ids):
        next_id = str(ids[start + limit])
        link = request.url.update_query({"after": next_id})
        body["paging"] = {"next": {"after": next_id, "link": str(link)}}
    elif empty_last_paging(request):
        body["paging"] = {}
    return json_response(body)


async def get_object(request: web.Request) -> web.Response:
    """`GET /crm/v3/objects/{type}/{id}` (optionally by a unique `idProperty`)."""
    state = state_of(request)
    table = _table(state, request.match_info["object_type"])
    raw_id = request.match_info["object_id"]
    archived = _flag(request, "archived")
    id_property = request.query.get("idProperty")
    record = None
    if id_property:
        _check_id_property(table, id_property)
        record = table.find_unique(id_property, raw_id) if not archived else None
    elif raw_id.isdigit():
        record = table.resolve(int(raw_id), archived=archived)
    if record is None:
        raise not_found(f"No {_NOUN[table.object_type]} with id {raw_id} exists.")
    names = select_properties(
        table, _csv(request, "properties"), LIST_DEFAULT_PROPERTIES[table.object_type]
    )
    history = _csv(request, "propertiesWithHistory") or []
    item = Renderer(table, names, state.config, history=history).record(record)
    wanted = _csv(request, "associations") or []
    if wanted:
        assoc = inline_associations(state.store, table, record, wanted)
        if assoc is not None:
            item["associations"] = assoc
    return json_response(item)


def _check_id_property(table: Table, name: str) -> None:
    if name == "hs_object_id":
        return
    prop = table.properties.get(name)
    if prop is None or not (prop.has_unique_value or name in table.unique_index):
        msg = f"idProperty {name!r} is not a unique-value property of {table.object_type}."
        raise validation_error(msg)


async def batch_read(request: web.Request) -> web.Response:
    """`POST /crm/v3/objects/{type}/batch/read`: 207 with `errors` for ids not found."""
    state = state_of(request)
    table = _table(state, request.match_info["object_type"])
    body = await _json_body(request)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, dict) and "id" in i for i in inputs):
        raise validation_error('inputs must be a list of {"id": ...} objects')
    if len(inputs) > state.config.batch_read_max:
        msg = (
            f"Batch input size {len(inputs)} exceeds the maximum of {state.config.batch_read_max}."
        )
        raise validation_error(msg)
    history = body.get("propertiesWithHistory") or []
    if not isinstance(history, list) or not all(isinstance(n, str) for n in history):
        raise validation_error("propertiesWithHistory must be a list of property names")
    if history and len(inputs) > HISTORY_PAGE_MAX:
        msg = (
            f"Batch input size {len(inputs)} exceeds the maximum of {HISTORY_PAGE_MAX} "
            "when propertiesWithHistory is requested."
        )
        raise validation_error(msg)
    wanted_ids = [str(i["id"]) for i in inputs]
    duplicates = sorted({i for i in wanted_ids if wanted_ids.count(i) > 1})
    if duplicates:
        msg = f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique"
        raise validation_error(msg)
    id_property = body.get("idProperty")
    if id_property:
        _check_id_property(table, id_property)
    archived = _flag(request, "archived")
    names = select_properties(
        table, body.get("properties") or None, LIST_DEFAULT_PROPERTIES[table.object_type]
    )
    renderer = Renderer(table, names, state.config, history=history)
    started = _now_iso(state)
    results = []
    missing = []
    seen: set[int] = set()
    for raw_id in wanted_ids:
        if id_property and id_property != "hs_object_id":
            record = None if archived else table.find_unique(id_property, raw_id)
        else:
            record = table.resolve(int(raw_id), archived=archived) if raw_id.isdigit() else None
        if record is None:
            missing.append(raw_id)
        elif record.id not in seen:
            seen.add(record.id)
            results.append(renderer.record(record))
    reply: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": _now_iso(state),
    }
    if not missing:
        return json_response(reply)
    noun = _SINGULAR[table.object_type]
    reply["numErrors"] = 1
    reply["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": (
                f"Could not get some {noun} objects, they may be deleted or not exist. "
                "Check that ids are valid."
            ),
            "context": {"ids": missing},
            "errors": [],
            "links": {},
        }
    ]
    return json_response(reply, status=state.config.batch_partial_status)


async def search(request: web.Request) -> web.Response:
    """`POST /crm/v3/objects/{type}/search`: offset paging, `total`, no associations."""
    state = state_of(request)
    table = _table(state, request.match_info["object_type"])
    query = parse_search(await _json_body(request), table, state.config)
    total, page = state.search.run(state.store, table, query, state.config, state.store.clock())
    default = SEARCH_DEFAULT_PROPERTIES[table.object_type]
    names = select_properties(table, query.names, default)
    renderer = Renderer(table, names, state.config)
    body: dict[str, Any] = {"total": total, "results": [renderer.record(r) for r in page]}
    following = query.offset + len(page)  # a short page's next page continues after it
    if page and following < total:
        body["paging"] = {"next": {"after": str(following)}}
    elif empty_last_paging(request):
        body["paging"] = {}
    return json_response(body)


async def list_properties(request: web.Request) -> web.Response:
    """`GET /crm/v3/properties/{type}`: every property definition (none are archived)."""
    state = state_of(request)
    table = _table(state, request.match_info["object_type"])
    if _flag(request, "archived"):
        return json_response({"results": []})
    return json_response({"results": [p.to_json() for p in table.properties.values()]})


async def get_property(request: web.Request) -> web.Response:
    """`GET /crm/v3/properties/{type}/{name}`."""
    state = state_of(request)
    table = _table(state, request.match_info["object_type"])
    prop = table.properties.get(request.match_info["name"])
    if prop is None:
        raise not_found(
            f"Unable to find property {request.match_info['name']} on {table.object_type}."
        )
    return json_response(prop.to_json())


async def associations_batch_read(request: web.Request) -> web.Response:
    """`POST /crm/v4/associations/{from}/{to}/batch/read` with HubSpot's type ids."""
    state = state_of(request)
    from_type, to_type = request.match_info["from_type"], request.match_info["to_type"]
    pair = {from_type, to_type}
    if pair != {"contacts", "companies"}:
        msg = (
            f"Associations from {from_type} to {to_type} are not served; "
            "use contacts and companies."
        )
        raise validation_error(msg)
    body = await _json_body(request)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, dict) and "id" in i for i in inputs):
        raise validation_error('inputs must be a list of {"id": ...} objects')
    limit = state.config.association_batch_max
    if len(inputs) > limit:
        raise validation_error(f"Batch input size {len(inputs)} exceeds the maximum of {limit}.")
    store = state.store
    table = store.tables[from_type]  # type: ignore[index]
    started = _now_iso(state)
    results: list[dict[str, Any]] = []
    missing: list[str] = []
    for item in inputs:
        raw_id = str(item["id"])
        record = table.resolve(int(raw_id)) if raw_id.isdigit() else None
        if record is None:
            missing.append(raw_id)
            continue
        if from_type == "contacts":
            pairs = [(c, c == record.primary_company_id) for c in record.company_ids]
        else:
            contacts = store.tables["contacts"].records
            pairs = [
                (c, contacts[c].primary_company_id == record.id)
                for c in sorted(store.company_contacts.get(record.id, ()))
            ]
        if not pairs:
            missing.append(raw_id)
            continue
        try:
            offset = int(item.get("after") or 0)
        except ValueError:
            raise validation_error(f"after must be an offset, got {item.get('after')!r}") from None
        chunk = pairs[offset : offset + ASSOCIATION_PAGE]
        entry: dict[str, Any] = {
            "from": {"id": record.sid},
            "to": [
                {"toObjectId": other, "associationTypes": association_types(from_type, primary)}
                for other, primary in chunk
            ],
        }
        if offset + ASSOCIATION_PAGE < len(pairs):
            entry["paging"] = {"next": {"after": str(offset + ASSOCIATION_PAGE)}}
        results.append(entry)
    reply: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": _now_iso(state),
    }
    if not missing:
        return json_response(reply)
    reply["numErrors"] = len(missing)
    reply["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"No {to_type} is associated with {_NOUN[from_type]} {raw_id}.",
            "context": {"fromObjectId": [raw_id]},
            "errors": [],
            "links": {},
        }
        for raw_id in missing
    ]
    return json_response(reply, status=state.config.batch_partial_status)


def _record_id(body: dict[str, Any], name: str) -> int:
    raw = str(body.get(name, ""))
    if not raw.isdigit():
        raise validation_error(f"{name} must be a record id, got {body.get(name)!r}")
    return int(raw)


async def merge(request: web.Request) -> web.Response:
    """`POST /crm/v3/objects/{type}/merge`: `PublicMergeInput` -> the merged record (current
    behaviour: a new record with a new id; legacy by config: the primary)."""
    state = state_of(request)
    table = _table(state, request.match_info["object_type"])
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise validation_error('send {"primaryObjectId": ..., "objectIdToMerge": ...}')
    primary_id = _record_id(body, "primaryObjectId")
    merged_id = _record_id(body, "objectIdToMerge")
    for record_id in (primary_id, merged_id):
        if table.get(record_id) is None:
            raise not_found(f"No {_NOUN[table.object_type]} with id {record_id} exists.")
    if primary_id == merged_id:
        raise validation_error("primaryObjectId and objectIdToMerge must be different records.")
    record = state.store.merge(
        table.object_type,
        primary_id,
        merged_id,
        new_id=state.config.merge_new_id,
        bump=state.config.association_changes_touch_contacts,
    )
    names = select_properties(table, None, LIST_DEFAULT_PROPERTIES[table.object_type])
    return json_response(Renderer(table, names, state.config).record(record))


async def gdpr_delete(request: web.Request) -> web.Response:
    """`POST /crm/v3/objects/contacts/gdpr-delete`: delete a contact permanently (204).

    `idProperty` names a unique property (e.g. `email`) holding `objectId`; an email no contact
    has is blocked from future use, as the spec says. An unknown record id answers 404."""
    state = state_of(request)
    table = state.store.tables["contacts"]
    body = await _json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("objectId"), str | int):
        raise validation_error('send {"objectId": "<contact id>", "idProperty"?: "email"}')
    raw_id = str(body["objectId"])
    id_property = body.get("idProperty")
    if id_property and id_property != "hs_object_id":
        _check_id_property(table, str(id_property))
        record = table.find_unique(str(id_property), raw_id)
        if record is None and id_property == "email":
            state.store.blocked_emails.add(raw_id.strip().lower())
            return web.Response(status=204)
    else:
        record = table.resolve(int(raw_id), archived=None) if raw_id.isdigit() else None
    if record is None:
        raise not_found(f"No contact with {id_property or 'id'} {raw_id} exists.")
    state.store.purge("contacts", record.id, privacy=True)
    return web.Response(status=204)


async def oauth_token(request: web.Request) -> web.Response:
    """`POST /oauth/v1/token`: the refresh-token and authorization-code grants (form-encoded;
    v1 also reads fields from the query string)."""
    state = state_of(request)
    form = await request.post()
    fields = {k: str(v) for k, v in form.items()}
    fields.update({k: v for k, v in request.query.items() if k not in fields})
    config = state.config
    policy = RefreshPolicy(config.refresh_token_rotation, config.refresh_token_grace_s)
    return json_response(state.auth.refresh(fields, config.oauth_token_lifetime_s, policy))


def add_routes(app: web.Application) -> None:
    """Register HubSpot's paths: v3/v4 and the date-versioned ones, served alike."""
    families = (
        ("/crm/v3/objects", "/crm/v3/properties", "/crm/v4/associations"),
        ("/crm/objects/{version}", "/crm/properties/{version}", "/crm/associations/{version}"),
    )
    for objects_root, properties_root, associations_root in families:
        objects = objects_root + "/{object_type}"
        app.router.add_get(objects, list_objects)
        app.router.add_post(objects + "/search", search)
        app.router.add_post(objects + "/batch/read", batch_read)
        app.router.add_post(objects + "/merge", merge)
        app.router.add_post(objects_root + "/contacts/gdpr-delete", gdpr_delete)
        app.router.add_get(objects + "/{object_id}", get_object)
        app.router.add_get(properties_root + "/{object_type}", list_properties)
        app.router.add_get(properties_root + "/{object_type}/{name}", get_property)
        app.router.add_post(
            associations_root + "/{from_type}/{to_type}/batch/read", associations_batch_read
        )
    app.router.add_post("/oauth/v1/token", oauth_token)
