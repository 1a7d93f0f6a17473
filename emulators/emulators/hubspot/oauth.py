"""HubSpot's OAuth v3 / date-versioned token endpoints: token, introspect, revoke.

`POST /oauth/{v3|2026-03|2026-09}/token`, `/token/introspect` and `/token/revoke`
(https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide,
https://developers.hubspot.com/changelog/v1-oauth-api-deprecation) take their fields in a
form-encoded body only: v1's query-string credentials are gone, so a request carrying
credentials in its query string, or a body of another media type, is refused with a 400
`invalid_request` that says so. The grants and answers live in `emulators.hubspot.auth`.
Revocation answers 200 with an empty body, also for an unknown token (RFC 7009 section 2.2;
HubSpot's spec gives no success status).
"""

from __future__ import annotations

from aiohttp import web

from emulators.hubspot.auth import RefreshPolicy, oauth_error
from emulators.hubspot.errors import json_response
from emulators.hubspot.state import state_of

# Versions of the OAuth API served besides v1.
OAUTH_VERSIONS = ("v3", "2026-03", "2026-09")
FORM_TYPE = "application/x-www-form-urlencoded"
# Fields that carry credentials or grants: never accepted in the query string.
CREDENTIAL_FIELDS = frozenset(
    {"client_id", "client_secret", "refresh_token", "code", "code_verifier", "token"}
)


async def _form(request: web.Request) -> dict[str, str]:
    """The form body, refusing query-string credentials and other media types."""
    in_query = sorted(CREDENTIAL_FIELDS & set(request.query))
    if in_query:
        raise oauth_error(
            "BAD_REQUEST",
            f"send {', '.join(in_query)} in the form-encoded request body, not in the URL "
            "query string",
            "invalid_request",
        )
    if request.content_type != FORM_TYPE:
        raise oauth_error(
            "BAD_REQUEST",
            f"the body must be {FORM_TYPE}, not {request.content_type or 'empty'}",
            "invalid_request",
        )
    return {k: str(v) for k, v in (await request.post()).items()}


async def token(request: web.Request) -> web.Response:
    """`POST /oauth/{version}/token`: authorization_code (PKCE), refresh_token,
    client_credentials."""
    state = state_of(request)
    config = state.config
    policy = RefreshPolicy(config.refresh_token_rotation, config.refresh_token_grace_s)
    answer = state.auth.token(await _form(request), config.oauth_token_lifetime_s, policy)
    return json_response(answer)


async def introspect(request: web.Request) -> web.Response:
    """`POST /oauth/{version}/token/introspect`: needs the app's client id and secret."""
    return json_response(state_of(request).auth.introspect(await _form(request)))


async def revoke(request: web.Request) -> web.Response:
    """`POST /oauth/{version}/token/revoke`."""
    state_of(request).auth.revoke(await _form(request))
    return web.Response(status=200)


def add_oauth_routes(app: web.Application) -> None:
    """Register the token endpoints of every served OAuth version."""
    for version in OAUTH_VERSIONS:
        root = f"/oauth/{version}/token"
        app.router.add_post(root, token)
        app.router.add_post(root + "/introspect", introspect)
        app.router.add_post(root + "/revoke", revoke)
