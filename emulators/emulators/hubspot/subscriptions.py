"""HubSpot's webhooks-journal subscriptions (2026-03) over HTTP.

Routes under `/webhooks-journal/subscriptions/{V}` (HubSpot's spec,
https://github.com/HubSpot/HubSpot-public-api-spec-collection, PublicApiSpecs/Webhooks Journal):
`POST` (create or update, 200 `SubscriptionResponse`), `GET` (`{"results": [...]}`, no paging),
`GET|DELETE /{subscriptionId}` (204 on delete), `DELETE /portals/{portalId}` (204),
`POST /filters` (`{"filterId"}`), `GET /filters/{filterId}`, `GET /filters/subscription/{id}`,
`DELETE /filters/{filterId}`. Reads need the subscriptions read scope, writes the write scope
(`emulators.hubspot.app_auth`). The upsert key and the other choices are in
`emulators.hubspot.subscription_model`.

EMULATOR CHOICES: a subscription for a portal that has not installed the app answers 400
`APP_NOT_INSTALLED` (as the journal does); one for an object type whose read scope the install
lacks (`withheld_scopes`, e.g. `crm.objects.contacts.read`) answers 403 `MISSING_SCOPES`;
uninstalling (the `app_installed` switch) keeps the subscriptions but writes no events.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
from aiohttp import web

from emulators.hubspot.app_auth import (
    SUBSCRIPTIONS_READ,
    SUBSCRIPTIONS_WRITE,
    missing_scopes,
    require_app,
)
from emulators.hubspot.errors import HubSpotError, error_body, json_response, validation_error
from emulators.hubspot.journal import VERSIONS, not_installed
from emulators.hubspot.state import HubSpotState
from emulators.hubspot.subscription_model import OBJECT_TYPE_IDS, Subscription, SubscriptionError
from emulators.hubspot.timeutil import now_ms
from emulators.hubspot.webhooks import OBJECT_READ_SCOPES

PREFIX = "/webhooks-journal/subscriptions/{journal_version:" + VERSIONS + "}"
_decoder = msgspec.json.Decoder()
_SCOPE_OF_TYPE_ID = {OBJECT_TYPE_IDS[name]: scope for name, scope in OBJECT_READ_SCOPES.items()}


@contextmanager
def _refusals() -> Iterator[None]:
    """Answer the model's SubscriptionError as HubSpot does: 404 `OBJECT_NOT_FOUND`, any
    other status `VALIDATION_ERROR`, with the model's message and sub-category."""
    try:
        yield
    except SubscriptionError as exc:
        category = "OBJECT_NOT_FOUND" if exc.status == 404 else "VALIDATION_ERROR"
        body = error_body(category, str(exc), sub_category=exc.sub_category)
        raise HubSpotError(exc.status, body) from None


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return _decoder.decode(raw) if raw else None
    except msgspec.DecodeError:
        raise validation_error("Invalid input JSON: the request body is not valid JSON.") from None


def _check_install(state: HubSpotState, body: Any) -> None:
    """Refuse a subscription the portal's install cannot serve."""
    if not isinstance(body, dict):
        return
    portal = body.get("portalId")
    if isinstance(portal, int) and not isinstance(portal, bool):
        if not state.webhooks.installed(portal):
            raise not_installed(portal)
        scope = _SCOPE_OF_TYPE_ID.get(str(body.get("objectTypeId")))
        if scope is not None and scope in state.webhooks.settings.withheld_scopes:
            raise missing_scopes((scope,))


async def upsert(request: web.Request) -> web.Response:
    """`POST /webhooks-journal/subscriptions/{V}`: create or update a subscription."""
    state = require_app(request, SUBSCRIPTIONS_WRITE)
    body = await _body(request)
    _check_install(state, body)
    webhooks = state.webhooks
    with _refusals():
        subscription = webhooks.subscriptions.upsert(body, webhooks.app_id, now_ms())
    return json_response(subscription.to_json())


async def list_all(request: web.Request) -> web.Response:
    """`GET /webhooks-journal/subscriptions/{V}`: every subscription of the app."""
    state = require_app(request, SUBSCRIPTIONS_READ)
    subscriptions = state.webhooks.subscriptions.by_id.values()
    return json_response({"results": [s.to_json() for s in subscriptions]})


def _id(request: web.Request, name: str) -> int:
    return int(request.match_info[name])


def _subscription(request: web.Request) -> Subscription:
    """The subscription the path's `subscriptionId` names, for a caller allowed to read it."""
    state = require_app(request, SUBSCRIPTIONS_READ)
    with _refusals():
        return state.webhooks.subscriptions.get(_id(request, "subscription_id"))


async def get_one(request: web.Request) -> web.Response:
    """`GET /webhooks-journal/subscriptions/{V}/{subscriptionId}`."""
    found = _subscription(request)
    return json_response(found.to_json())


async def delete_one(request: web.Request) -> web.Response:
    """`DELETE /webhooks-journal/subscriptions/{V}/{subscriptionId}`: 204."""
    state = require_app(request, SUBSCRIPTIONS_WRITE)
    with _refusals():
        state.webhooks.subscriptions.delete(_id(request, "subscription_id"))
    return web.Response(status=204)


async def delete_portal(request: web.Request) -> web.Response:
    """`DELETE /webhooks-journal/subscriptions/{V}/portals/{portalId}`: 204."""
    state = require_app(request, SUBSCRIPTIONS_WRITE)
    state.webhooks.subscriptions.delete_portal(_id(request, "portal_id"))
    return web.Response(status=204)


async def create_filter(request: web.Request) -> web.Response:
    """`POST /webhooks-journal/subscriptions/{V}/filters`: `{"filterId"}`."""
    state = require_app(request, SUBSCRIPTIONS_WRITE)
    body = await _body(request)
    with _refusals():
        created = state.webhooks.subscriptions.add_filter(body, now_ms())
    return json_response({"filterId": created.id})


async def get_filter(request: web.Request) -> web.Response:
    """`GET /webhooks-journal/subscriptions/{V}/filters/{filterId}`."""
    state = require_app(request, SUBSCRIPTIONS_READ)
    with _refusals():
        found = state.webhooks.subscriptions.get_filter(_id(request, "filter_id"))
    return json_response(found.to_json())


async def filters_of(request: web.Request) -> web.Response:
    """`GET /webhooks-journal/subscriptions/{V}/filters/subscription/{subscriptionId}`."""
    found = _subscription(request)
    return json_response([f.to_json() for f in found.filters.values()])


async def delete_filter(request: web.Request) -> web.Response:
    """`DELETE /webhooks-journal/subscriptions/{V}/filters/{filterId}`: 204."""
    state = require_app(request, SUBSCRIPTIONS_WRITE)
    with _refusals():
        state.webhooks.subscriptions.delete_filter(_id(request, "filter_id"))
    return web.Response(status=204)


def add_subscription_routes(app: web.Application) -> None:
    """Register the subscription and filter routes."""
    app.router.add_post(PREFIX, upsert)
    app.router.add_get(PREFIX, list_all)
    app.router.add_post(PREFIX + "/filters", create_filter)
    app.router.add_get(PREFIX + r"/filters/{filter_id:\d+}", get_filter)
    app.router.add_delete(PREFIX + r"/filters/{filter_id:\d+}", delete_filter)
    app.router.add_get(PREFIX + r"/filters/subscription/{subscription_id:\d+}", filters_of)
    app.router.add_delete(PREFIX + r"/portals/{portal_id:\d+}", delete_portal)
    app.router.add_get(PREFIX + r"/{subscription_id:\d+}", get_one)
    app.router.add_delete(PREFIX + r"/{subscription_id:\d+}", delete_one)
