"""Who may call: private-app Bearer tokens and OAuth clients with the refresh-token flow.

401 bodies (hubspot-api.md section 7): `INVALID_AUTHENTICATION` when the header is missing or the
token unknown, `EXPIRED_AUTHENTICATION` (with the expiry time in `context`) when an issued OAuth
access token is past its lifetime. `POST /oauth/v1/token` answers 400 `BAD_REFRESH_TOKEN` (and
`BAD_CLIENT_ID` / `BAD_CLIENT_SECRET`) like HubSpot (section 9). Tokens are secrets: they are
never echoed in bodies or logs, and the rate limiter keys on a digest, not the token.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from emulators.hubspot.errors import HubSpotError, error_body
from emulators.hubspot.timeutil import iso_ms

# A portal id for token responses (any int32; HubSpot's are 6-9 digits).
HUB_ID = 24_680_135
SCOPES = ("crm.objects.contacts.read", "crm.objects.companies.read", "crm.schemas.contacts.read")
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


class Auth:
    """The credentials an emulator instance accepts."""

    def __init__(self, tokens: Iterable[str] = (), clients: Iterable[OAuthClient] = ()) -> None:
        self.tokens: set[str] = set(tokens)
        self.clients: dict[str, OAuthClient] = {c.client_id: c for c in clients}
        self.issued: dict[str, _Issued] = {}

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
        """`POST /oauth/v1/token` with grant_type=refresh_token: a new access token."""
        grant = form.get("grant_type")
        if grant != "refresh_token":
            raise _oauth_error(
                "BAD_GRANT_TYPE",
                f"grant_type {grant!r} is not supported here; use refresh_token",
            )
        client = self.clients.get(form.get("client_id", ""))
        if client is None:
            raise _oauth_error("BAD_CLIENT_ID", "missing or unknown client id")
        if not secrets.compare_digest(form.get("client_secret", ""), client.client_secret):
            raise _oauth_error("BAD_CLIENT_SECRET", "missing or invalid client secret")
        if not secrets.compare_digest(form.get("refresh_token", ""), client.refresh_token):
            raise _oauth_error("BAD_REFRESH_TOKEN", "refresh token is invalid, expired or revoked")
        token = "CN" + secrets.token_urlsafe(48)
        expires = int(time.time() * 1000 + lifetime_s * 1000)
        self.issued[token] = _Issued(client.client_id, expires)
        return {
            "access_token": token,
            "refresh_token": client.refresh_token,
            "expires_in": int(lifetime_s),
            "token_type": "bearer",
            "token_use": "access_token",
            "hub_id": HUB_ID,
            "scopes": list(SCOPES),
        }

    def expire_all(self) -> int:
        """Make every issued access token stale now; returns how many there were."""
        now = int(time.time() * 1000)
        for issued in self.issued.values():
            issued.expires_ms = min(issued.expires_ms, now)
        return len(self.issued)


def _oauth_error(status: str, message: str) -> HubSpotError:
    body = error_body(status, message, error="invalid_grant", error_description=message)
    body["status"] = status
    return HubSpotError(400, body)
