"""HubSpot's OAuth consent side: the authorize page, its redirect, and token introspection.

`GET /oauth/authorize?client_id&redirect_uri&scope&state[&code_challenge&code_challenge_method]`
(PKCE, RFC 7636: S256 only; the challenge is bound to the code) shows what HubSpot's install page
shows (the portal, the app, the requested scopes) with "Connect app" and "Cancel"; the choice
is posted back and answered with a redirect to `redirect_uri` carrying `code` and `state`, or
`error=access_denied` and `state` (RFC 6749 section 4.1.2). An unknown app, a redirect URL the
app did not register or no scope is an error page, never a redirect, as on HubSpot
(https://developers.hubspot.com/docs/api/oauth-quickstart-guide,
https://developers.hubspot.com/docs/api/working-with-oauth). `GET /oauth/v1/access-tokens/{token}`
tells the portal and granted scopes of an access token (HubSpot's OAuth v1 API).

The admin path `PUT /_emulator/oauth/consent` sets the app's registered redirect URLs
(`redirect_uris`; empty accepts any http://localhost URL), scopes the user cannot grant
(`withheld_scopes`) and the app's display name (`app_name`).
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from aiohttp import web

from emulators.hubspot.auth import USER_EMAIL, ConsentError
from emulators.hubspot.errors import json_response
from emulators.hubspot.state import ADMIN_PREFIX, state_of

APP_NAME_KEY = web.AppKey("hubspot_oauth_app_name", dict[str, str])
DEFAULT_APP_NAME = "Gather sync (tap-hubspot-gather)"
# HubSpot separates scopes with spaces (URL-encoded as %20 or +).
SCOPE_SEPARATOR = " "

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Connect {app} to HubSpot</title>
<style>
body {{ font-family: sans-serif; background: #f5f8fa; color: #33475b; }}
main {{ max-width: 34rem; margin: 3rem auto; background: #fff; padding: 2rem;
       border: 1px solid #cbd6e2; border-radius: 6px; }}
li {{ font-family: monospace; margin: .3rem 0; }}
button {{ font-size: 1rem; padding: .6rem 1.4rem; margin-right: 1rem; border-radius: 4px; }}
#connect {{ background: #ff7a59; color: #fff; border: 0; }}
#cancel {{ background: #fff; border: 1px solid #7c98b6; }}
</style></head>
<body><main>
<h1>Connect {app}</h1>
<p>to HubSpot account <strong id="portal">{domain}</strong>
(Hub ID <span id="hub-id">{hub_id}</span>), signed in as {user}.</p>
<p>{app} is asking to:</p>
<ul id="scopes">{scopes}</ul>
<form method="post" action="/oauth/authorize">
<input type="hidden" name="client_id" value="{client_id}">
<input type="hidden" name="redirect_uri" value="{redirect_uri}">
<input type="hidden" name="scope" value="{scope}">
<input type="hidden" name="state" value="{state}">
<input type="hidden" name="code_challenge" value="{code_challenge}">
<input type="hidden" name="code_challenge_method" value="{code_challenge_method}">
<button id="connect" type="submit" name="decision" value="connect">Connect app</button>
<button id="cancel" type="submit" name="decision" value="cancel">Cancel</button>
</form>
<p><small>HubSpot emulator: nothing leaves this machine.</small></p>
</main></body></html>
"""

_ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorization failed</title></head>
<body><main><h1>Authorization failed</h1><p id="error">{message}</p></main></body></html>
"""


def _scopes(text: str) -> list[str]:
    return [s for s in text.replace("+", SCOPE_SEPARATOR).split(SCOPE_SEPARATOR) if s]


def _error_page(message: str) -> web.Response:
    return web.Response(
        status=400, text=_ERROR_PAGE.format(message=html.escape(message)), content_type="text/html"
    )


def _app_name(request: web.Request) -> str:
    return str(request.app[APP_NAME_KEY].get("name", DEFAULT_APP_NAME))


async def authorize_page(request: web.Request) -> web.Response:
    """`GET /oauth/authorize`: the consent page, or an error page for a request it refuses."""
    query = request.query
    client_id = query.get("client_id", "")
    redirect_uri = query.get("redirect_uri", "")
    scopes = _scopes(query.get("scope", ""))
    challenge = query.get("code_challenge", "")
    method = query.get("code_challenge_method", "")
    try:
        state_of(request).auth.check_authorize(client_id, redirect_uri, scopes, challenge, method)
    except ConsentError as exc:
        return _error_page(str(exc))
    app = html.escape(_app_name(request))
    portal = state_of(request).auth.portal
    page = _PAGE.format(
        app=app,
        domain=html.escape(portal.hub_domain),
        hub_id=portal.hub_id,
        user=html.escape(USER_EMAIL),
        scopes="".join(f"<li>{html.escape(s)}</li>" for s in scopes),
        client_id=html.escape(client_id),
        redirect_uri=html.escape(redirect_uri),
        scope=html.escape(SCOPE_SEPARATOR.join(scopes)),
        state=html.escape(query.get("state", "")),
        code_challenge=html.escape(challenge),
        code_challenge_method=html.escape(method),
    )
    return web.Response(text=page, content_type="text/html")


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


async def authorize_decision(request: web.Request) -> web.Response:
    """`POST /oauth/authorize`: "Connect app" redirects with a code, "Cancel" with an error."""
    form = {k: str(v) for k, v in (await request.post()).items()}
    auth = state_of(request).auth
    client_id = form.get("client_id", "")
    redirect_uri = form.get("redirect_uri", "")
    scopes = _scopes(form.get("scope", ""))
    challenge = form.get("code_challenge", "")
    try:
        auth.check_authorize(
            client_id, redirect_uri, scopes, challenge, form.get("code_challenge_method", "")
        )
    except ConsentError as exc:
        return _error_page(str(exc))
    params: dict[str, str]
    if form.get("decision") == "connect":
        params = {"code": auth.grant_code(client_id, redirect_uri, scopes, challenge)}
    else:
        params = {
            "error": "access_denied",
            "error_description": "The user declined to connect the app.",
        }
    if form.get("state"):
        params["state"] = form["state"]
    raise web.HTTPFound(_with_query(redirect_uri, params))


async def access_token_info(request: web.Request) -> web.Response:
    """`GET /oauth/v1/access-tokens/{token}`: portal, user and scopes of an access token."""
    return json_response(state_of(request).auth.token_info(request.match_info["token"]))


async def configure_consent(request: web.Request) -> web.Response:
    """`PUT /_emulator/oauth/consent`: redirect URLs, withheld scopes, app name."""
    body: Any = await request.json()
    if not isinstance(body, dict):
        return json_response({"error": "expected a JSON object"}, status=400)
    auth = state_of(request).auth
    if "redirect_uris" in body:
        auth.redirect_uris = {str(u) for u in body["redirect_uris"] or []}
    if "withheld_scopes" in body:
        auth.withheld_scopes = {str(s) for s in body["withheld_scopes"] or []}
    if "app_name" in body:
        request.app[APP_NAME_KEY]["name"] = str(body["app_name"])
    return json_response(
        {
            "redirect_uris": sorted(auth.redirect_uris),
            "withheld_scopes": sorted(auth.withheld_scopes),
            "app_name": _app_name(request),
        }
    )


def add_consent_routes(app: web.Application) -> None:
    """Register the consent page, its form target, token info and the admin knob."""
    app[APP_NAME_KEY] = {}
    app.router.add_get("/oauth/authorize", authorize_page)
    app.router.add_post("/oauth/authorize", authorize_decision)
    app.router.add_get("/oauth/v1/access-tokens/{token}", access_token_info)
    app.router.add_put(ADMIN_PREFIX + "/oauth/consent", configure_consent)
