"""Error responses in Django REST Framework's shape, which Gather's clients expect [INT].

Gather's own web app reads ``message.detail`` from any error body and assumes
``{"detail": "Server error"}`` for 5xx; the wording below is DRF's, since Gather's API is
a DRF service by every sign (``Token`` auth, 204 handling, ``detail`` bodies).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from emulators.common.faults import FaultRule

NOT_AUTHENTICATED = "Authentication credentials were not provided."
INVALID_TOKEN = "Invalid token."  # noqa: S105 (a message)
TOKEN_HEADER_EMPTY = "Invalid token header. No credentials provided."  # noqa: S105 (a message)
TOKEN_HEADER_SPACES = "Invalid token header. Token string should not contain spaces."  # noqa: S105 (a message)
PERMISSION_DENIED = "You do not have permission to perform this action."
NOT_FOUND = "Not found."
SERVER_ERROR = "Server error"
# DRF's TokenAuthentication answers 401 with this challenge.
AUTH_CHALLENGE = "Token"

STATUS_DETAILS: dict[int, str] = {
    400: "Bad request.",
    401: INVALID_TOKEN,
    403: PERMISSION_DENIED,
    404: NOT_FOUND,
    409: "Conflict.",
    413: "Request body is too large.",
    415: "Unsupported media type.",
    429: "Request was throttled.",
}


def detail(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """``{"detail": message}`` with `status`."""
    response = web.json_response({"detail": message}, status=status, headers=headers)
    if status == 401:
        response.headers["WWW-Authenticate"] = AUTH_CHALLENGE
    return response


def field_errors(errors: Mapping[str, Any]) -> web.Response:
    """400 with ``{"field": ["message", ...]}``."""
    return web.json_response(dict(errors), status=400)


def throttled(wait_s: float) -> web.Response:
    """DRF's 429 with the wait in the body and in ``Retry-After`` (whole seconds)."""
    wait = max(1, math.ceil(wait_s))
    unit = "second" if wait == 1 else "seconds"
    message = f"Request was throttled. Expected available in {wait} {unit}."
    return detail(429, message, headers={"Retry-After": str(wait)})


def method_not_allowed(method: str) -> web.Response:
    """DRF's 405 body."""
    return detail(405, f'Method "{method}" not allowed.')


def render_fault(request: web.Request, status: int, rule: FaultRule) -> web.StreamResponse:
    """The body of an injected fault (the fault middleware adds ``Retry-After``)."""
    del request  # same body whatever the route
    if status == 429 and rule.retry_after is not None and rule.retry_after.isdigit():
        wait = int(rule.retry_after)
        unit = "second" if wait == 1 else "seconds"
        return detail(429, f"Request was throttled. Expected available in {wait} {unit}.")
    if status >= 500:
        return detail(status, SERVER_ERROR)
    return detail(status, STATUS_DETAILS.get(status, "Request failed."))
