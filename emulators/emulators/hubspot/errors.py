"""HubSpot's response bodies for errors, and the one fast JSON response helper.

Error bodies follow the standard error shape (`status`, `message`, `correlationId`,
`category`, optional `errors`/`context`/`links`; see
https://developers.hubspot.com/docs/api-reference/error-handling), with the exact
messages HubSpot is known to send where they are known.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from aiohttp import web

JSON_CONTENT_TYPE = "application/json"
_encoder = msgspec.json.Encoder()

# The 414 page HubSpot's edge returns, verbatim in substance (airbyte issue 33976).
URI_TOO_LONG_HTML = (
    "<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n"
    "<center><h1>414 Request-URI Too Large</h1></center>\r\n</body>\r\n</html>\r\n"
)


def correlation_id() -> str:
    """A fresh correlation id, as HubSpot puts on every response."""
    return str(uuid.uuid4())


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response encoded with msgspec (fast enough for 100,000-record benchmarks)."""
    return web.Response(
        body=_encoder.encode(data),
        status=status,
        content_type=JSON_CONTENT_TYPE,
        charset="utf-8",
        headers=headers,
    )


def error_body(
    category: str,
    message: str,
    *,
    sub_category: str | None = None,
    context: dict[str, list[str]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The standard error object."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
    }
    if sub_category is not None:
        body["subCategory"] = sub_category
    if context is not None:
        body["context"] = context
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return body


class HubSpotError(Exception):
    """Raised by handlers; the app turns it into HubSpot's error response."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> web.Response:
        """The JSON response for this error."""
        return json_response(self.body, status=self.status, headers=self.headers)


def validation_error(message: str, **kw: Any) -> HubSpotError:
    """400 VALIDATION_ERROR, HubSpot's answer to a malformed request."""
    return HubSpotError(400, error_body("VALIDATION_ERROR", message, **kw))


def not_found(message: str) -> HubSpotError:
    """404 OBJECT_NOT_FOUND."""
    return HubSpotError(404, error_body("OBJECT_NOT_FOUND", message))


def rate_limit_body(policy: str, message: str) -> dict[str, Any]:
    """A 429 body: `errorType` RATE_LIMIT and the policy that tripped (error-handling docs)."""
    return error_body(
        "RATE_LIMITS",
        message,
        errorType="RATE_LIMIT",
        policyName=policy,
        requestId=correlation_id(),
    )


TEN_SECONDLY_MESSAGE = "You have reached your ten_secondly_rolling limit."
SECONDLY_MESSAGE = "You have reached your secondly limit."
DAILY_MESSAGE = "You have reached your daily limit."

_FAULT_MESSAGES = {
    423: ("LOCKED", "The resource is locked; locks last 2 seconds, retry after that."),
    429: ("RATE_LIMITS", TEN_SECONDLY_MESSAGE),
    477: ("MIGRATION_IN_PROGRESS", "This account is being migrated; retry later."),
    500: ("INTERNAL_ERROR", "internal error"),
    502: ("BAD_GATEWAY", "Bad gateway: HubSpot could not process the request in time."),
    503: ("SERVICE_UNAVAILABLE", "Service unavailable; retry later."),
    504: ("GATEWAY_TIMEOUT", "Gateway timeout; retry later."),
    524: ("TIMEOUT", "No response within 100 seconds."),
}


def fault_body(status: int) -> dict[str, Any]:
    """The body HubSpot sends for an injected status (429 like the burst limit)."""
    if status == 429:
        return rate_limit_body("TEN_SECONDLY_ROLLING", TEN_SECONDLY_MESSAGE)
    category, message = _FAULT_MESSAGES.get(status, ("ERROR", f"injected HTTP {status}"))
    return error_body(category, message)
