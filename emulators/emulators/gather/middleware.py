"""The request pipeline around Gather's routes: error bodies, rate limit, latency, auth.

Order (outermost first, set in `app.make_app`): request stats, fault injection, DRF error
bodies, rate limit and latency, authentication, then the route. Admin paths skip all but
the error bodies.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from emulators.gather import errors
from emulators.gather.state import ADMIN_PREFIX, STATE
from emulators.gather.validation import BodyError, FieldError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKEN_KEYWORD = "token"  # noqa: S105 (DRF TokenAuthentication's keyword, matched case-insensitively)


def _is_admin(request: web.Request) -> bool:
    return request.path.startswith(ADMIN_PREFIX)


@web.middleware
async def drf_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render body errors, field errors and aiohttp's own 404/405/413 as DRF JSON."""
    try:
        return await handler(request)
    except FieldError as exc:
        return errors.field_errors(exc.errors)
    except BodyError as exc:
        return errors.detail(exc.status, exc.detail)
    except web.HTTPMethodNotAllowed:
        return errors.method_not_allowed(request.method)
    except web.HTTPNotFound:
        return errors.detail(404, errors.NOT_FOUND)
    except web.HTTPRequestEntityTooLarge as exc:
        limit = request.app[STATE].max_body_bytes
        message = f"Request body is larger than the {limit}-byte limit; send smaller records."
        return errors.detail(exc.status, message)


@web.middleware
async def throttle(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the configured rate limit (429 + ``Retry-After``) and added latency."""
    if _is_admin(request):
        return await handler(request)
    state = request.app[STATE]
    if state.limiter is not None:
        wait_s = state.limiter.take()
        if wait_s > 0:
            return errors.throttled(wait_s)
    if state.config.latency_s > 0:
        await asyncio.sleep(state.config.latency_s)
    return await handler(request)


def key_is_valid(candidate: str, keys: frozenset[str]) -> bool:
    """Constant-time comparison against every configured key."""
    found = False
    encoded = candidate.encode("utf-8", "surrogateescape")
    for key in keys:
        found |= hmac.compare_digest(encoded, key.encode("utf-8", "surrogateescape"))
    return found


def authenticate(header: str | None, keys: frozenset[str]) -> str | None:
    """None when ``Authorization: Token <key>`` names a valid key, else DRF's 401 message."""
    if not header:
        return errors.NOT_AUTHENTICATED
    parts = header.split()
    if not parts or parts[0].lower() != TOKEN_KEYWORD:
        # DRF ignores other schemes, so the request is simply unauthenticated.
        return errors.NOT_AUTHENTICATED
    if len(parts) == 1:
        return errors.TOKEN_HEADER_EMPTY
    if len(parts) > 2:
        return errors.TOKEN_HEADER_SPACES
    return None if key_is_valid(parts[1], keys) else errors.INVALID_TOKEN


@web.middleware
async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``Authorization: Token <key>`` on every API route.

    Unknown paths 404 without auth (URL routing comes first in Django); a wrong method on
    a known path authenticates first, then 405s, as DRF's views do.
    """
    unknown_path = isinstance(request.match_info.http_exception, web.HTTPNotFound)
    if _is_admin(request) or unknown_path:
        return await handler(request)
    state = request.app[STATE]
    problem = authenticate(request.headers.get("Authorization"), state.api_keys)
    if problem is not None:
        return errors.detail(401, problem)
    if state.config.permission_denied:
        return errors.detail(403, errors.PERMISSION_DENIED)
    return await handler(request)
