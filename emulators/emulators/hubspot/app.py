"""`make_app`: the HubSpot emulator as one aiohttp application.

Middleware order, outermost first: request stats (so injected faults are counted too), admin
error rendering, HubSpot error rendering (+ correlation id header), the 414 URL-length check
(HubSpot's edge answers it before anything else), fault injection, the sunset answer of
retired legacy APIs (when retired), the version segment check of date-versioned paths, then
auth, scopes and rate limits (which also purge archives past their retention before a CRM
request sees the data).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping

from aiohttp import web

from emulators.common.faults import FaultRule, fault_middleware
from emulators.common.stats import stats_middleware
from emulators.hubspot.admin import add_admin_routes, admin_errors
from emulators.hubspot.auth import Auth, OAuthClient
from emulators.hubspot.config import EmulatorConfig
from emulators.hubspot.consent import add_consent_routes
from emulators.hubspot.errors import (
    URI_TOO_LONG_HTML,
    HubSpotError,
    correlation_id,
    error_body,
    fault_body,
    json_response,
)
from emulators.hubspot.journal import add_journal_routes
from emulators.hubspot.journal_admin import add_journal_admin_routes
from emulators.hubspot.limits import Budget
from emulators.hubspot.oauth import add_oauth_routes
from emulators.hubspot.portal import HUB_ID, Portal, add_portal_routes
from emulators.hubspot.routes import add_routes
from emulators.hubspot.scopes import check_scopes
from emulators.hubspot.state import ADMIN_PREFIX, STATE_KEY, HubSpotState
from emulators.hubspot.subscriptions import add_subscription_routes
from emulators.hubspot.versions import date_versions, legacy_retirement

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# aiohttp refuses request lines over 8,190 bytes by itself (with its own 400); lift that so
# the emulator's configurable 414 rule decides, like HubSpot's edge does.
MAX_REQUEST_LINE = 1_048_576
# Paths that take a Bearer credential and count against the rate limits.
AUTHENTICATED_PREFIXES = ("/crm/", "/account-info/")
# Request bodies the emulator reads (batch reads of 1,000 inputs are far below this).
MAX_BODY_BYTES = 16 * 1024 * 1024


def _render_fault(request: web.Request, status: int, rule: FaultRule) -> web.StreamResponse:
    return json_response(fault_body(status), status=status)


@web.middleware
async def hubspot_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """HubSpotError -> its JSON response; unknown routes -> a JSON 404; correlation ids."""
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    try:
        response = await handler(request)
    except HubSpotError as exc:
        response = exc.response()
    except web.HTTPNotFound:
        body = error_body(
            "OBJECT_NOT_FOUND", f"No HubSpot endpoint at {request.path} in this emulator."
        )
        response = json_response(body, status=404)
    except web.HTTPMethodNotAllowed:
        body = error_body("VALIDATION_ERROR", f"{request.method} is not allowed on {request.path}.")
        response = json_response(body, status=405)
    if not response.prepared:
        response.headers.setdefault("X-HubSpot-Correlation-Id", correlation_id())
    return response


@web.middleware
async def url_length(request: web.Request, handler: Handler) -> web.StreamResponse:
    """414 with HubSpot's HTML page when the request target is longer than configured."""
    limit = request.app[STATE_KEY].config.max_url_length
    if not request.path.startswith(ADMIN_PREFIX) and len(request.raw_path) > limit:
        return web.Response(status=414, text=URI_TOO_LONG_HTML, content_type="text/html")
    return await handler(request)


def _budget(request: web.Request) -> Budget:
    path = request.path
    if request.method == "POST" and path.endswith("/search"):
        return "search"
    if path.startswith(("/crm/v4/associations/", "/crm/associations/")):
        return "exempt"
    return "burst"


@web.middleware
async def auth_and_limits(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bearer auth, scopes, then the request budget, on HubSpot's CRM and account-info paths."""
    if not request.path.startswith(AUTHENTICATED_PREFIXES):
        return await handler(request)
    state = request.app[STATE_KEY]
    caller = state.auth.authenticate(request.headers.get("Authorization"))
    check_scopes(request, caller.scopes)
    verdict = state.limiter.check(
        state.config, caller.key, kind=_budget(request), oauth=caller.oauth
    )
    if verdict.error is not None:
        raise verdict.error
    state.store.expire_archives(state.config.archive_retention_ms)
    try:
        response = await handler(request)
    except HubSpotError as exc:
        exc.headers.update(verdict.headers)
        raise
    response.headers.update(verdict.headers)
    return response


def make_app(
    tokens: Iterable[str] = (),
    oauth_clients: Iterable[OAuthClient] = (),
    config: EmulatorConfig | None = None,
    *,
    hub_id: int = HUB_ID,
    service_keys: Mapping[str, Iterable[str]] | None = None,
) -> web.Application:
    """A fresh emulator with an empty portal (hub id `hub_id`) accepting the given credentials."""
    portal = Portal(hub_id=hub_id)
    state = HubSpotState(
        config=config or EmulatorConfig(), auth=Auth(tokens, oauth_clients, portal, service_keys)
    )
    app = web.Application(
        middlewares=[
            stats_middleware(state.stats, ADMIN_PREFIX),
            admin_errors,
            hubspot_errors,
            url_length,
            fault_middleware(state.faults, _render_fault, ADMIN_PREFIX),
            legacy_retirement,
            date_versions,
            auth_and_limits,
        ],
        handler_args={"max_line_size": MAX_REQUEST_LINE, "max_field_size": MAX_REQUEST_LINE},
        client_max_size=MAX_BODY_BYTES,
    )
    app[STATE_KEY] = state
    add_routes(app)
    add_consent_routes(app)
    add_oauth_routes(app)
    add_portal_routes(app, portal, ADMIN_PREFIX)
    add_admin_routes(app)
    state.webhooks.portal_id = hub_id  # the journal's one portal is this instance's
    add_journal_routes(app)
    add_subscription_routes(app)
    add_journal_admin_routes(app)
    return app
