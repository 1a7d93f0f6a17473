"""The request pipeline around Gather's routes: error bodies, rate limit, latency, auth.

Order (outermost first, set in `app.make_app`): request stats, fault injection, DRF error
bodies, rate limit and latency, authentication, then the route. Admin paths skip all but
the error bodies.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from emulators.gather import errors
from emulators.gather.state import ADMIN_PREFIX, STATE, WORKSPACE
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


def matching_key(candidate: str, keys: Iterable[str]) -> str | None:
    """The configured key equal to `candidate`, compared in constant time against every key."""
    found = None
    encoded = candidate.encode("utf-8", "surrogateescape")
    for key in keys:
        if hmac.compare_digest(encoded, key.encode("utf-8", "surrogateescape")):
            found = key
    return found


def authenticate(header: str | None, keys: Iterable[str]) -> tuple[str | None, str | None]:
    """``(key, None)`` when ``Authorization: Token <key>`` names a valid key, else
    ``(None, DRF's 401 message)``."""
    if not header:
        return None, errors.NOT_AUTHENTICATED
    parts = header.split()
    if not parts or parts[0].lower() != TOKEN_KEYWORD:
        # DRF ignores other schemes, so the request is simply unauthenticated.
        return None, errors.NOT_AUTHENTICATED
    if len(parts) == 1:
        return None, errors.TOKEN_HEADER_EMPTY
    if len(parts) > 2:
        return None, errors.TOKEN_HEADER_SPACES
    key = matching_key(parts[1], keys)
    return (key, None) if key is not None else (None, errors.INVALID_TOKEN)


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
    key, problem = authenticate(request.headers.get("Authorization"), state.key_workspaces)
    if key is None:
        return errors.detail(401, problem or errors.INVALID_TOKEN)
    if state.config.permission_denied:
        return errors.detail(403, errors.PERMISSION_DENIED)
    request[WORKSPACE] = state.workspaces[state.key_workspaces[key]]
    return await handler(request)
