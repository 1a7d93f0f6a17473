"""HubSpot's OAuth 2.0 authorization-code flow with PKCE, the app's side of it.

The authorize URL (https://developers.hubspot.com/docs/api/oauth-quickstart-guide) is
`https://app.hubspot.com/oauth/authorize` for HubSpot's API host (`app-eu1.hubspot.com` for
`api-eu1.hubapi.com`); for any other `api_url` (a proxy, the emulator) it is `<api_url>/oauth/
authorize`. It carries a PKCE challenge (RFC 7636, S256). The code is exchanged, with the PKCE
verifier, at `POST <api_url>/oauth/2026-03/token` (form body only), and the token's portal and
scopes are read by introspection, `POST <api_url>/oauth/2026-03/token/introspect` with the app's
client id and secret (https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide,
https://developers.hubspot.com/changelog/v1-oauth-api-deprecation). Finally one CRM read on the
configured `api_version` proves the token works where the tap will use it. Requests go through
the tap's own transport (`tap_hubspot_gather.transport`): one HTTP stack for the whole tap.
No message built here contains a token, a code, a verifier or the client secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from tap_hubspot_gather.auth import BAD_CLIENT, oauth_error
from tap_hubspot_gather.client import TAP_SCOPES
from tap_hubspot_gather.errors import redact
from tap_hubspot_gather.transport import USER_AGENT, NoAnswerError, Transport, UnsendableError
from tap_hubspot_gather.versions import (
    OAUTH_INTROSPECT_PATH,
    OAUTH_TOKEN_PATH,
    HubSpotPaths,
    paths_for,
)

# Exactly what the tap reads: companies and contacts, and their property definitions.
REQUIRED_SCOPES = TAP_SCOPES
HUBSPOT_API_HOST_SUFFIX = ".hubapi.com"
HUBSPOT_APP_DOMAIN = "hubspot.com"
AUTHORIZE_PATH = "/oauth/authorize"
REQUEST_TIMEOUT_S = 30.0
STATE_BYTES = 32
# RFC 7636: a verifier of 43 to 128 unreserved characters; 64 random bytes give 86.
PKCE_VERIFIER_BYTES = 64
PKCE_METHOD = "S256"
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
# Error codes (RFC 6749 `error`, or the v1 `status` HubSpot still sends alongside).
BAD_CODE = frozenset({"invalid_grant", "BAD_AUTH_CODE", "EXPIRED_AUTH_CODE"})
BAD_REDIRECT = frozenset({"BAD_REDIRECT_URI", "redirect_uri_mismatch"})
BAD_PKCE = frozenset({"invalid_code_verifier", "BAD_CODE_VERIFIER"})


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


@dataclass(frozen=True)
class Pkce:
    """A PKCE pair (RFC 7636): the verifier stays here, its S256 challenge goes to HubSpot."""

    verifier: str

    @classmethod
    def new(cls) -> Pkce:
        """A fresh random verifier."""
        return cls(secrets.token_urlsafe(PKCE_VERIFIER_BYTES))

    @property
    def challenge(self) -> str:
        """BASE64URL(SHA256(verifier)) without padding (RFC 7636 section 4.2)."""
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(base: str, client_id: str, redirect_uri: str, state: str, pkce: Pkce) -> str:
    """The full authorize URL: client, redirect, the tap's scopes (space-separated), state,
    and the PKCE challenge."""
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(REQUIRED_SCOPES),
            "state": state,
            "code_challenge": pkce.challenge,
            "code_challenge_method": PKCE_METHOD,
        },
        quote_via=quote,
    )
    return f"{base}?{query}"


class OAuthApp:
    """The OAuth app (client id and secret) talking to HubSpot's token endpoints."""

    def __init__(
        self,
        api_url: str,
        client_id: str,
        client_secret: str,
        paths: HubSpotPaths | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.paths = paths or paths_for(None)
        self._transport = Transport(self.api_url, USER_AGENT)
        self._secrets: list[str] = [client_id, client_secret]

    def exchange(self, code: str, redirect_uri: str, pkce: Pkce) -> Tokens:
        """Trade the authorization code (and the PKCE verifier) for access and refresh tokens."""
        self._secrets += [code, pkce.verifier]
        form = {
            "grant_type": "authorization_code",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "redirect_uri": redirect_uri,
            "code": code,
            "code_verifier": pkce.verifier,
        }
        status, body = self._call("POST", OAUTH_TOKEN_PATH, urlencode(form).encode(), FORM_HEADERS)
        if status >= 400:
            raise ConnectError(self._exchange_refused(status, body, redirect_uri))
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
            msg = "HubSpot's token endpoint answered without an access and a refresh token."
            raise ConnectError(msg)
        self._secrets += [access, refresh]
        return Tokens(access, refresh)

    def grant(self, tokens: Tokens) -> Grant:
        """The portal, user and scopes behind the new access token (token introspection)."""
        form = {
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "token": tokens.access_token,
            "token_type_hint": "access_token",
        }
        status, body = self._call(
            "POST", OAUTH_INTROSPECT_PATH, urlencode(form).encode(), FORM_HEADERS
        )
        if status >= 400 or body.get("active") is False:
            code, said = oauth_error(body, self._secrets)
            what = f"HTTP {status}" + (f", {code}" if code else "") + (f": {said}" if said else "")
            if body.get("active") is False:
                what = "the new token is not active"
            msg = f"HubSpot could not tell which portal the new token belongs to ({what}); "
            if code in BAD_CLIENT:
                msg += "check client_id and client_secret, then run connect again."
            else:
                msg += "run connect again."
            raise ConnectError(msg)
        scopes = body.get("scopes")
        return Grant(
            hub_id=int(body.get("hub_id") or 0),
            hub_domain=str(body.get("hub_domain") or ""),
            user=str(body.get("user") or ""),
            scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else (),
        )

    def verify(self, tokens: Tokens) -> None:
        """One cheap CRM read with the new token, on the configured API version."""
        path = self.paths.objects("contacts") + "?limit=1"
        status, body = self._call(
            "GET", path, headers={"Authorization": f"Bearer {tokens.access_token}"}
        )
        if status < 300:
            return
        said = redact(str(body.get("message") or body.get("category") or ""), self._secrets)
        where = f"GET {self.paths.objects('contacts')} (api_version {self.paths.version.name})"
        msg = f"The new token cannot read contacts: HubSpot answered HTTP {status} to {where}"
        msg += f" ({said[:200]})" if said else ""
        msg += (
            ". Check api_version and that the app has the scopes "
            f"{', '.join(REQUIRED_SCOPES)}, then run connect again. Nothing was stored."
        )
        raise ConnectError(msg)

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
        """One line for a refused code exchange: what happened and what to do."""
        kind, said = oauth_error(body, self._secrets)
        # RFC 6749's `error` is coarse (invalid_grant); HubSpot's `status` is precise.
        kinds = {kind, str(body.get("status") or "")}
        if kinds & BAD_REDIRECT or "redirect_uri" in said.lower():
            return (
                f"HubSpot refused the redirect URL {redirect_uri} ({said or kind}): it must be "
                "exactly one of your app's redirect URLs (hsproject's app-hsmeta.json, or the "
                "app's Auth tab). Add it there, or run connect with --port/--redirect-path "
                "matching the one you registered."
            )
        if kinds & BAD_PKCE or "verifier" in said.lower():
            return (
                f"HubSpot refused the PKCE verifier ({said or kind}): the code belongs to another "
                "connect run. Run connect again and use the link it prints."
            )
        if kinds & BAD_CODE:
            return (
                f"HubSpot refused the authorization code ({said or kind}): a code works once and "
                "only for a few minutes. Run connect again and approve the app in the new window."
            )
        if kinds & BAD_CLIENT:
            return (
                f"HubSpot refused the app's credentials ({kind}): set client_id and "
                "client_secret to the values of your app's Auth tab, then run connect again."
            )
        return (
            f"HubSpot refused the code exchange (HTTP {status}{', ' + kind if kind else ''}"
            f"{': ' + said if said else ''}); run connect again."
        )
