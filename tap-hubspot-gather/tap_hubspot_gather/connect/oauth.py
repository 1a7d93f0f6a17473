"""HubSpot's OAuth 2.0 authorization-code flow, the app's side of it.

The authorize URL (https://developers.hubspot.com/docs/api/oauth-quickstart-guide) is
`https://app.hubspot.com/oauth/authorize` for HubSpot's API host (`app-eu1.hubspot.com` for
`api-eu1.hubapi.com`); for any other `api_url` (a proxy, the emulator) it is `<api_url>/oauth/
authorize`. The code is exchanged at `POST <api_url>/oauth/v1/token` (grant_type
authorization_code, https://developers.hubspot.com/docs/api/oauth/tokens) and the token's portal
and scopes are read from `GET <api_url>/oauth/v1/access-tokens/{token}`. Requests go through the
tap's own transport (`tap_hubspot_gather.transport`): one HTTP stack for the whole tap.
No message built here contains a token, a code or the client secret.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from tap_hubspot_gather.auth import TOKEN_PATH
from tap_hubspot_gather.errors import redact
from tap_hubspot_gather.transport import USER_AGENT, NoAnswerError, Transport, UnsendableError

# Exactly what the tap reads: companies and contacts, and their property definitions.
REQUIRED_SCOPES = (
    "crm.objects.companies.read",
    "crm.objects.contacts.read",
    "crm.schemas.companies.read",
    "crm.schemas.contacts.read",
)
HUBSPOT_API_HOST_SUFFIX = ".hubapi.com"
HUBSPOT_APP_DOMAIN = "hubspot.com"
AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_INFO_PATH = "/oauth/v1/access-tokens/"  # noqa: S105 (a URL path)
REQUEST_TIMEOUT_S = 30.0
STATE_BYTES = 32
# HubSpot's 400 statuses for a code that cannot be redeemed, and for a redirect mismatch.
BAD_CODE_STATUSES = frozenset({"BAD_AUTH_CODE", "EXPIRED_AUTH_CODE"})
BAD_REDIRECT_STATUS = "BAD_REDIRECT_URI"


class ConnectError(Exception):
    """The flow cannot finish; the message is one line saying what happened and what to do."""


@dataclass(frozen=True)
class Tokens:
    """What the code bought (secrets: never print these)."""

    access_token: str
    refresh_token: str


@dataclass(frozen=True)
class Grant:
    """Who granted what: the portal and the scopes of the new access token."""

    hub_id: int
    hub_domain: str
    user: str
    scopes: tuple[str, ...]

    @property
    def missing_scopes(self) -> list[str]:
        """Scopes the tap needs that the token lacks."""
        return [s for s in REQUIRED_SCOPES if s not in self.scopes]


def new_state() -> str:
    """A random, unguessable `state` tying the redirect to this run."""
    return secrets.token_urlsafe(STATE_BYTES)


def authorize_base(api_url: str) -> str:
    """Where the user's browser goes to approve the app, derived from `api_url`."""
    parts = urlsplit(api_url)
    host = (parts.hostname or "").lower()
    if host.endswith(HUBSPOT_API_HOST_SUFFIX):
        # api.hubapi.com -> app.hubspot.com; api-eu1.hubapi.com -> app-eu1.hubspot.com
        region = host.removesuffix(HUBSPOT_API_HOST_SUFFIX).removeprefix("api")
        return f"https://app{region}.{HUBSPOT_APP_DOMAIN}{AUTHORIZE_PATH}"
    return api_url.rstrip("/") + AUTHORIZE_PATH


def authorize_url(base: str, client_id: str, redirect_uri: str, state: str) -> str:
    """The full authorize URL: client, redirect, the tap's scopes (space-separated), state."""
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(REQUIRED_SCOPES),
            "state": state,
        },
        quote_via=quote,
    )
    return f"{base}?{query}"


class OAuthApp:
    """The OAuth app (client id and secret) talking to HubSpot's token endpoints."""

    def __init__(self, api_url: str, client_id: str, client_secret: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self._transport = Transport(self.api_url, USER_AGENT)
        self._secrets: list[str] = [client_id, client_secret]

    def exchange(self, code: str, redirect_uri: str) -> Tokens:
        """Trade the authorization code for access and refresh tokens."""
        self._secrets.append(code)
        form = {
            "grant_type": "authorization_code",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "redirect_uri": redirect_uri,
            "code": code,
        }
        status, body = self._call(
            "POST",
            TOKEN_PATH,
            urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status >= 400:
            raise ConnectError(self._exchange_refused(status, body, redirect_uri))
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
            msg = "HubSpot's token endpoint answered without an access and a refresh token."
            raise ConnectError(msg)
        self._secrets += [access, refresh]
        return Tokens(access, refresh)

    def grant(self, tokens: Tokens) -> Grant:
        """The portal, user and scopes behind the new access token."""
        status, body = self._call("GET", TOKEN_INFO_PATH + quote(tokens.access_token, safe=""))
        if status >= 400:
            msg = (
                f"HubSpot could not tell which portal the new token belongs to (HTTP {status}); "
                "run connect again."
            )
            raise ConnectError(msg)
        scopes = body.get("scopes")
        return Grant(
            hub_id=int(body.get("hub_id") or 0),
            hub_domain=str(body.get("hub_domain") or ""),
            user=str(body.get("user") or ""),
            scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else (),
        )

    def close(self) -> None:
        """Close the transport's connections."""
        self._transport.close()

    def _call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """One request: status and decoded JSON object (empty when the body is not one)."""
        try:
            answer = self._transport.send(
                method,
                self.api_url + path,
                headers=headers or {},
                body=body,
                timeout_s=REQUEST_TIMEOUT_S,
            )
        except (NoAnswerError, UnsendableError) as exc:
            msg = redact(
                f"HubSpot did not answer at {self.api_url} ({exc}): check api_url and the "
                "network, then run connect again.",
                self._secrets,
            )
            raise ConnectError(msg) from None
        try:
            decoded = json.loads(answer.data or b"{}")
        except ValueError:
            decoded = {}
        return answer.status, decoded if isinstance(decoded, dict) else {}

    def _exchange_refused(self, status: int, body: dict[str, Any], redirect_uri: str) -> str:
        kind = str(body.get("status") or body.get("error") or "")
        said = redact(
            str(body.get("message") or body.get("error_description") or ""), self._secrets
        )
        if kind in BAD_CODE_STATUSES:
            return (
                f"HubSpot refused the authorization code ({said or kind}): a code works once and "
                "only for a few minutes. Run connect again and approve the app in the new window."
            )
        if kind == BAD_REDIRECT_STATUS:
            return (
                f"HubSpot refused the redirect URL {redirect_uri} ({said}): it must be exactly "
                "one of your app's Redirect URLs (app settings, Auth tab). Add it there, or run "
                "connect with --port/--redirect-path matching the one you registered."
            )
        if kind in ("BAD_CLIENT_ID", "BAD_CLIENT_SECRET"):
            return (
                f"HubSpot refused the app's credentials ({kind}): set client_id and "
                "client_secret to the values of your app's Auth tab, then run connect again."
            )
        return (
            f"HubSpot refused the code exchange (HTTP {status}{', ' + kind if kind else ''}"
            f"{': ' + said if said else ''}); run connect again."
        )
