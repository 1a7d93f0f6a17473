"""Who may call: private-app Bearer tokens and OAuth clients with the refresh-token flow.

401 bodies (https://developers.hubspot.com/docs/api/error-handling): `INVALID_AUTHENTICATION`
when the header is missing or the token unknown, `EXPIRED_AUTHENTICATION` (with the expiry time
in `context`) when an issued OAuth access token is past its lifetime. `POST /oauth/v1/token`
(https://developers.hubspot.com/docs/api/oauth/tokens) takes the refresh-token grant and the
authorization-code grant (codes come from the consent page, `emulators.hubspot.consent`: single
use, short-lived, bound to their redirect URI) and answers 400 `BAD_REFRESH_TOKEN`,
`BAD_AUTH_CODE`, `BAD_REDIRECT_URI`, `BAD_CLIENT_ID` / `BAD_CLIENT_SECRET` like HubSpot. Tokens
are secrets: they are never echoed in bodies or logs, and the rate limiter keys on a digest.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from emulators.hubspot.errors import HubSpotError, error_body
from emulators.hubspot.portal import HUB_DOMAIN, HUB_ID, Portal
from emulators.hubspot.timeutil import iso_ms

__all__ = ["HUB_DOMAIN", "HUB_ID", "Auth", "OAuthClient"]
# The app's id and the installing user, for the access-token info endpoint.
APP_ID = 1_357_913
USER_EMAIL = "admin@emulator-portal.example"
USER_ID = 7_654_321
SCOPES = (
    "crm.objects.contacts.read",
    "crm.objects.companies.read",
    "crm.schemas.contacts.read",
    "crm.schemas.companies.read",
)
# Authorization codes are single use; the emulator also lets them lapse after this long.
AUTH_CODE_LIFETIME_S = 300.0
# HubSpot accepts plain http redirect URLs only for localhost.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_MISSING_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
    "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_INVALID_MESSAGE = (
    "The access token used to make this call is not valid: check the private app token, "
    "or refresh the OAuth access token."
)


class CredentialError(ValueError):
    """A credential given on the command line or by env var is malformed."""


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth app that may refresh access tokens with its one refresh token."""

    client_id: str
    client_secret: str
    refresh_token: str

    @classmethod
    def parse(cls, text: str) -> OAuthClient:
        """From ``CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN``."""
        parts = text.split(":")
        if len(parts) != 3 or not all(parts):
            msg = "an OAuth client is given as CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN"
            raise CredentialError(msg)
        return cls(*parts)


@dataclass(frozen=True)
class Caller:
    """The authenticated caller: a rate-limit key (no secret in it) and whether it is OAuth."""

    key: str
    oauth: bool


@dataclass
class _Issued:
    client_id: str
    expires_ms: int
    scopes: tuple[str, ...] = SCOPES


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    expires_at: float


class ConsentError(ValueError):
    """The authorize request cannot be shown: the page says why, nothing is redirected."""


class Auth:
    """The credentials an emulator instance accepts."""

    def __init__(
        self,
        tokens: Iterable[str] = (),
        clients: Iterable[OAuthClient] = (),
        portal: Portal | None = None,
    ) -> None:
        # The account every credential belongs to (hub id and domain in OAuth answers).
        self.portal = portal or Portal()
        self.tokens: set[str] = set(tokens)
        self.clients: dict[str, OAuthClient] = {c.client_id: c for c in clients}
        self.issued: dict[str, _Issued] = {}
        # Refresh tokens minted by the authorization-code grant: token -> (client, scopes).
        self.granted: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.codes: dict[str, _Code] = {}
        self.used_codes: set[str] = set()
        # The app's registered redirect URLs; empty accepts any http://localhost URL.
        self.redirect_uris: set[str] = set()
        # Scopes the consent grants even when asked (a portal whose user lacks permission).
        self.withheld_scopes: set[str] = set()

    def add(self, tokens: Iterable[str] = (), clients: Iterable[OAuthClient] = ()) -> None:
        """Accept more credentials."""
        self.tokens.update(tokens)
        self.clients.update({c.client_id: c for c in clients})

    def authenticate(self, header: str | None) -> Caller:
        """The caller behind an `Authorization` header, or a 401 HubSpotError."""
        if not header or not header.lower().startswith("bearer ") or not header[7:].strip():
            raise HubSpotError(401, error_body("INVALID_AUTHENTICATION", _MISSING_MESSAGE))
        token = header[7:].strip()
        if token in self.tokens:
            return Caller(key="app:" + hashlib.sha256(token.encode()).hexdigest()[:16], oauth=False)
        issued = self.issued.get(token)
        if issued is None:
            raise HubSpotError(401, error_body("INVALID_AUTHENTICATION", _INVALID_MESSAGE))
        now = int(time.time() * 1000)
        if now >= issued.expires_ms:
            ago = (now - issued.expires_ms) // 1000
            body = error_body(
                "EXPIRED_AUTHENTICATION",
                f"The OAuth token used to make this call expired {ago} second(s) ago.",
                context={"expire time": [iso_ms(issued.expires_ms)]},
            )
            raise HubSpotError(401, body)
        return Caller(key="oauth:" + issued.client_id, oauth=True)

    def refresh(self, form: Mapping[str, str], lifetime_s: float) -> dict[str, Any]:
        """`POST /oauth/v1/token`: a new access token for a refresh token or an auth code."""
        grant = form.get("grant_type")
        if grant not in ("refresh_token", "authorization_code"):
            raise _oauth_error(
                "BAD_GRANT_TYPE",
                f"grant_type {grant!r} is not supported here; use refresh_token or "
                "authorization_code",
            )
        client = self.clients.get(form.get("client_id", ""))
        if client is None:
            raise _oauth_error("BAD_CLIENT_ID", "missing or unknown client id")
        if not secrets.compare_digest(form.get("client_secret", ""), client.client_secret):
            raise _oauth_error("BAD_CLIENT_SECRET", "missing or invalid client secret")
        if grant == "authorization_code":
            refresh_token, scopes = self._redeem(client, form)
        else:
            refresh_token = form.get("refresh_token", "")
            scopes = self._refresh_scopes(client, refresh_token)
        token = "CN" + secrets.token_urlsafe(48)
        expires = int(time.time() * 1000 + lifetime_s * 1000)
        self.issued[token] = _Issued(client.client_id, expires, scopes)
        return {
            "access_token": token,
            "refresh_token": refresh_token,
            "expires_in": int(lifetime_s),
            "token_type": "bearer",
            "token_use": "access_token",
            "hub_id": self.portal.hub_id,
            "scopes": list(scopes),
        }

    def _refresh_scopes(self, client: OAuthClient, refresh_token: str) -> tuple[str, ...]:
        if secrets.compare_digest(refresh_token, client.refresh_token):
            return SCOPES
        granted = self.granted.get(refresh_token)
        if granted is None or granted[0] != client.client_id:
            raise _oauth_error("BAD_REFRESH_TOKEN", "refresh token is invalid, expired or revoked")
        return granted[1]

    def _redeem(self, client: OAuthClient, form: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
        """Spend an authorization code: a new refresh token bound to the granted scopes."""
        code = form.get("code", "")
        issued = self.codes.pop(code, None)
        if issued is None or issued.client_id != client.client_id:
            if code in self.used_codes:
                raise _oauth_error("BAD_AUTH_CODE", "auth code has already been used")
            raise _oauth_error("BAD_AUTH_CODE", "missing or unknown auth code")
        self.used_codes.add(code)
        if time.monotonic() >= issued.expires_at:
            raise _oauth_error("BAD_AUTH_CODE", "auth code has expired")
        if form.get("redirect_uri", "") != issued.redirect_uri:
            raise _oauth_error(
                "BAD_REDIRECT_URI", "redirect_uri does not match initial auth code URL"
            )
        refresh_token = "na1-" + secrets.token_hex(4) + "-" + str(uuid.uuid4())
        self.granted[refresh_token] = (client.client_id, issued.scopes)
        return refresh_token, issued.scopes

    # The consent page's side ---------------------------------------------------------------

    def check_authorize(self, client_id: str, redirect_uri: str, scopes: Iterable[str]) -> None:
        """Refuse what HubSpot's authorize page refuses, before anything is shown or redirected."""
        if client_id not in self.clients:
            msg = f"Unknown app: no app has the client_id {client_id!r}."
            raise ConsentError(msg)
        if not _redirect_allowed(redirect_uri, self.redirect_uris):
            msg = (
                f"Authorization failed because the redirect URL {redirect_uri!r} does not match "
                "any of the app's redirect URLs."
            )
            raise ConsentError(msg)
        if not list(scopes):
            msg = "Authorization failed because the request asks for no scope."
            raise ConsentError(msg)

    def grant_code(self, client_id: str, redirect_uri: str, scopes: Iterable[str]) -> str:
        """The user clicked "Connect app": a single-use code for the redirect."""
        granted = tuple(s for s in scopes if s not in self.withheld_scopes)
        code = secrets.token_urlsafe(24)
        expires = time.monotonic() + AUTH_CODE_LIFETIME_S
        self.codes[code] = _Code(client_id, redirect_uri, granted, expires)
        return code

    def token_info(self, token: str) -> dict[str, Any]:
        """`GET /oauth/v1/access-tokens/{token}`: the portal and scopes behind an access token."""
        issued = self.issued.get(token)
        now = int(time.time() * 1000)
        if issued is None or now >= issued.expires_ms:
            body = error_body("INVALID_AUTHENTICATION", "access token is invalid or expired")
            body["status"] = "BAD_ACCESS_TOKEN"
            raise HubSpotError(404, body)
        return {
            "token": token,
            "user": USER_EMAIL,
            "hub_domain": self.portal.hub_domain,
            "scopes": list(issued.scopes),
            "hub_id": self.portal.hub_id,
            "app_id": APP_ID,
            "expires_in": max((issued.expires_ms - now) // 1000, 0),
            "user_id": USER_ID,
            "token_type": "access",
        }

    def expire_all(self) -> int:
        """Make every issued access token stale now; returns how many there were."""
        now = int(time.time() * 1000)
        for issued in self.issued.values():
            issued.expires_ms = min(issued.expires_ms, now)
        return len(self.issued)


def _redirect_allowed(uri: str, registered: set[str]) -> bool:
    if registered:
        return uri in registered
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def _oauth_error(status: str, message: str) -> HubSpotError:
    body = error_body(status, message, error="invalid_grant", error_description=message)
    body["status"] = status
    return HubSpotError(400, body)
