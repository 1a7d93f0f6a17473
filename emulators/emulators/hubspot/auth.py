"""Who may call: private-app tokens, Service Keys and OAuth clients, and the tokens they mint.

401 bodies (https://developers.hubspot.com/docs/api/error-handling): `INVALID_AUTHENTICATION`
when the header is missing or the token unknown (or revoked), `EXPIRED_AUTHENTICATION` (with the
expiry time in `context`) when an issued OAuth access token is past its lifetime.

Credentials: private-app tokens (`--token`) may do everything; Service Keys
(https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/account-service-keys:
`pat-…` bearer keys) and OAuth access tokens carry scopes, checked by `emulators.hubspot.scopes`.

Grants (`token`, shared by `POST /oauth/v1/token` and `POST /oauth/{v3|2026-03|2026-09}/token`,
https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide): `authorization_code`
(codes from the consent page, `emulators.hubspot.consent`: single use, short-lived, bound to
their redirect URI and, with PKCE, to the S256 `code_challenge` given at authorize, RFC 7636),
`refresh_token` (optionally rotating the refresh token) and `client_credentials` (no refresh
token; the scopes asked for). Errors carry RFC 6749 `error` / `error_description` plus HubSpot's
`status` (`BAD_REFRESH_TOKEN`, `BAD_AUTH_CODE`, ...) and `message`
(https://developers.hubspot.com/changelog/new-oauth-v3-api-endpoints-and-standardized-error-responses).
Tokens are secrets: never echoed in error bodies or logs; the rate limiter keys on a digest.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from emulators.hubspot.errors import HubSpotError, error_body
from emulators.hubspot.portal import HUB_DOMAIN, HUB_ID, Portal
from emulators.hubspot.timeutil import iso_ms

__all__ = ["HUB_DOMAIN", "HUB_ID", "Auth", "OAuthClient", "RefreshPolicy"]

# The app's id and the installing user, for token answers and introspection.
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
# Service Keys share the `pat-` prefix of private-app tokens (the reference's sources: the
# key docs above and HubSpot's SDK README, https://github.com/HubSpot/hubspot-sdk-python).
SERVICE_KEY_PREFIX = "pat-"
# RFC 7636 section 4.1: a code verifier is 43-128 unreserved characters; S256 only here.
PKCE_METHOD = "S256"
CODE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
GRANTS = ("authorization_code", "refresh_token", "client_credentials")
_MISSING_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
    "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_INVALID_MESSAGE = (
    "The access token used to make this call is not valid: check the private app token or "
    "service key, or refresh the OAuth access token."
)


# Client-credentials tokens "authenticate as your app rather than on behalf of a specific user"
# and serve the webhooks journal (https://developers.hubspot.com/docs/api-reference/latest/authentication/manage-oauth-tokens);
# they name no portal, so CRM reads refuse them (our choice; HubSpot documents no answer).
_APP_ONLY_MESSAGE = (
    "A client credentials token authenticates as the app and can only call the webhooks "
    "journal and its subscriptions; read CRM records with the portal's OAuth access token."
)


class CredentialError(ValueError):
    """A credential given on the command line, by env var or the admin API is malformed."""


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


def parse_service_key(text: str) -> tuple[str, tuple[str, ...]]:
    """``pat-…:scope1,scope2`` -> (key, scopes)."""
    key, _, scopes = text.partition(":")
    return check_service_key(key, [s for s in scopes.split(",") if s.strip()])


def check_service_key(key: str, scopes: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    """A valid (key, scopes) pair, or a CredentialError saying what to fix."""
    if not key.startswith(SERVICE_KEY_PREFIX) or len(key) <= len(SERVICE_KEY_PREFIX):
        msg = f"a service key starts with {SERVICE_KEY_PREFIX!r} (given as pat-KEY:scope1,scope2)"
        raise CredentialError(msg)
    granted = tuple(dict.fromkeys(str(s).strip() for s in scopes))
    if not granted:
        msg = "a service key needs at least one scope (pat-KEY:scope1,scope2)"
        raise CredentialError(msg)
    return key, granted


@dataclass(frozen=True)
class Caller:
    """The authenticated caller: a rate-limit key (no secret in it), whether it is OAuth, and
    its scopes (None: a private-app token, which may do everything)."""

    key: str
    oauth: bool
    scopes: frozenset[str] | None = None


@dataclass(frozen=True)
class RefreshPolicy:
    """Whether a refresh answers with a new refresh token, and how long the old one still works
    (0: invalid at once; within the grace it refreshes and answers its successor)."""

    rotate: bool = False
    grace_s: float = 0.0


@dataclass
class _Issued:
    client_id: str
    expires_ms: int
    scopes: tuple[str, ...] = SCOPES
    refresh_token: str | None = None  # the grant it came from; None for client credentials
    token_use: str = "access_token"  # noqa: S105 - a token kind, not a secret


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    expires_at: float
    code_challenge: str | None = None


@dataclass
class _Rotated:
    successor: str
    until: float  # wall-clock seconds after which the old token no longer works


@dataclass
class _Grants:
    """Refresh tokens: minted ones (token -> (client, scopes)), revoked and rotated ones."""

    granted: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    rotated: dict[str, _Rotated] = field(default_factory=dict)


class ConsentError(ValueError):
    """The authorize request cannot be shown: the page says why, nothing is redirected."""


class Auth:
    """The credentials an emulator instance accepts and the tokens it issued."""

    def __init__(
        self,
        tokens: Iterable[str] = (),
        clients: Iterable[OAuthClient] = (),
        portal: Portal | None = None,
        service_keys: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        # The account every credential belongs to (hub id and domain in OAuth answers).
        self.portal = portal or Portal()
        self.tokens: set[str] = set(tokens)
        self.service_keys: dict[str, tuple[str, ...]] = {}
        for key, scopes in (service_keys or {}).items():
            self.add_service_key(key, scopes)
        self.clients: dict[str, OAuthClient] = {c.client_id: c for c in clients}
        self.issued: dict[str, _Issued] = {}
        self.grants = _Grants()
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

    def add_service_key(
        self, key: str | None, scopes: Iterable[str]
    ) -> tuple[str, tuple[str, ...]]:
        """Accept a Service Key with its scopes (a new `pat-na1-…` key when `key` is None)."""
        if key is None:
            key = f"{SERVICE_KEY_PREFIX}na1-{uuid.uuid4()}"
        key, granted = check_service_key(key, scopes)
        self.service_keys[key] = granted
        return key, granted

    def remove_service_key(self, key: str) -> bool:
        """Stop accepting a Service Key (deleted or rotated in HubSpot's UI)."""
        return self.service_keys.pop(key, None) is not None

    # Calls to the API -----------------------------------------------------------------------

    def authenticate(self, header: str | None) -> Caller:
        """The caller behind an `Authorization` header, or a 401 HubSpotError."""
        if not header or not header.lower().startswith("bearer ") or not header[7:].strip():
            raise HubSpotError(401, error_body("INVALID_AUTHENTICATION", _MISSING_MESSAGE))
        token = header[7:].strip()
        digest = hashlib.sha256(token.encode()).hexdigest()[:16]
        if token in self.tokens:
            return Caller(key="app:" + digest, oauth=False)
        key_scopes = self.service_keys.get(token)
        if key_scopes is not None:
            return Caller(key="app:" + digest, oauth=False, scopes=frozenset(key_scopes))
        issued = self.issued.get(token)
        if issued is None:
            raise HubSpotError(401, error_body("INVALID_AUTHENTICATION", _INVALID_MESSAGE))
        check_not_expired(issued.expires_ms)
        if issued.token_use == "client_credentials":  # noqa: S105 - a token kind, not a secret
            raise HubSpotError(403, error_body("MISSING_SCOPES", _APP_ONLY_MESSAGE))
        return Caller(key="oauth:" + issued.client_id, oauth=True, scopes=frozenset(issued.scopes))

    # The token endpoint --------------------------------------------------------------------

    def refresh(
        self, form: Mapping[str, str], lifetime_s: float, policy: RefreshPolicy | None = None
    ) -> dict[str, Any]:
        """`POST /oauth/v1/token`: v1 answers every grant error with `invalid_grant`."""
        try:
            return self.token(form, lifetime_s, policy, grants=GRANTS[:2])
        except HubSpotError as exc:
            if exc.status == 400:
                exc.body["error"] = "invalid_grant"
            raise

    def token(
        self,
        form: Mapping[str, str],
        lifetime_s: float,
        policy: RefreshPolicy | None = None,
        grants: tuple[str, ...] = GRANTS,
    ) -> dict[str, Any]:
        """The token endpoint: a grant's answer (`AccessTokenResponse` or, for client
        credentials, `ClientCredentialsTokenResponse`), or a 400 in RFC 6749 shape."""
        grant = form.get("grant_type", "")
        if grant not in grants:
            raise oauth_error(
                "BAD_GRANT_TYPE",
                f"grant_type {grant!r} is not supported; use one of {', '.join(grants)}",
                "unsupported_grant_type",
            )
        client = self.client(form)
        if grant == "client_credentials":
            scopes = tuple(s for s in form.get("scope", "").replace("+", " ").split(" ") if s)
            if not scopes:
                raise oauth_error(
                    "BAD_SCOPE", "ask for at least one scope (space-separated)", "invalid_scope"
                )
            return self.client_credentials_token(client.client_id, scopes, lifetime_s)
        if grant == "authorization_code":
            refresh_token, scopes = self._redeem(client, form)
        else:
            refresh_token, scopes = self._refresh(client, form, policy or RefreshPolicy())
        return self._access_token(client.client_id, scopes, lifetime_s, refresh_token)

    def client(self, form: Mapping[str, str]) -> OAuthClient:
        """The app named by `client_id`, its `client_secret` checked."""
        client = self.clients.get(form.get("client_id", ""))
        if client is None:
            raise oauth_error("BAD_CLIENT_ID", "missing or unknown client id", "invalid_client")
        if not secrets.compare_digest(form.get("client_secret", ""), client.client_secret):
            raise oauth_error(
                "BAD_CLIENT_SECRET", "missing or invalid client secret", "invalid_client"
            )
        return client

    def client_credentials_token(
        self, client_id: str, scopes: Iterable[str], lifetime_s: float
    ) -> dict[str, Any]:
        """Mint an app-level access token with `scopes` (no refresh token): the
        client-credentials answer, also for other emulator modules that need such a token."""
        token = "CN" + secrets.token_urlsafe(48)
        granted = tuple(dict.fromkeys(scopes))
        expires = int(time.time() * 1000 + lifetime_s * 1000)
        self.issued[token] = _Issued(client_id, expires, granted, None, "client_credentials")
        return {
            "access_token": token,
            "expires_in": int(lifetime_s),
            "token_type": "bearer",
            "token_use": "client_credentials",
            "hub_id": self.portal.hub_id,
            "scopes": list(granted),
        }

    def _access_token(
        self, client_id: str, scopes: tuple[str, ...], lifetime_s: float, refresh_token: str
    ) -> dict[str, Any]:
        token = "CN" + secrets.token_urlsafe(48)
        expires = int(time.time() * 1000 + lifetime_s * 1000)
        self.issued[token] = _Issued(client_id, expires, scopes, refresh_token)
        return {
            "access_token": token,
            "refresh_token": refresh_token,
            "expires_in": int(lifetime_s),
            "token_type": "bearer",
            "token_use": "access_token",
            "hub_id": self.portal.hub_id,
            "user_id": USER_ID,
            "scopes": list(scopes),
        }

    def _refresh_scopes(self, client: OAuthClient, refresh_token: str) -> tuple[str, ...] | None:
        """The scopes of a live refresh token of this client, else None."""
        if refresh_token in self.grants.revoked:
            return None
        if secrets.compare_digest(refresh_token, client.refresh_token):
            return SCOPES
        granted = self.grants.granted.get(refresh_token)
        if granted is None or granted[0] != client.client_id:
            return None
        return granted[1]

    def _refresh(
        self, client: OAuthClient, form: Mapping[str, str], policy: RefreshPolicy
    ) -> tuple[str, tuple[str, ...]]:
        """The refresh token to answer and the scopes, rotating it when the policy says so."""
        refresh_token = form.get("refresh_token", "")
        for _ in range(len(self.grants.rotated)):  # within a grace: answer its latest successor
            rotated = self.grants.rotated.get(refresh_token)
            if rotated is None or time.time() >= rotated.until:
                break
            refresh_token = rotated.successor
        scopes = self._refresh_scopes(client, refresh_token)
        if scopes is None:
            raise oauth_error(
                "BAD_REFRESH_TOKEN", "refresh token is invalid, expired or revoked", "invalid_grant"
            )
        if not policy.rotate or refresh_token != form.get("refresh_token", ""):
            return refresh_token, scopes
        successor = _new_refresh_token()
        self.grants.granted[successor] = (client.client_id, scopes)
        self.grants.rotated[refresh_token] = _Rotated(successor, time.time() + policy.grace_s)
        self.grants.revoked.add(refresh_token)
        return successor, scopes

    def _redeem(self, client: OAuthClient, form: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
        """Spend an authorization code: a new refresh token bound to the granted scopes."""
        code = form.get("code", "")
        issued = self.codes.pop(code, None)
        if issued is None or issued.client_id != client.client_id:
            if code in self.used_codes:
                raise oauth_error("BAD_AUTH_CODE", "auth code has already been used")
            raise oauth_error("BAD_AUTH_CODE", "missing or unknown auth code")
        self.used_codes.add(code)
        if time.monotonic() >= issued.expires_at:
            raise oauth_error("BAD_AUTH_CODE", "auth code has expired")
        if form.get("redirect_uri", "") != issued.redirect_uri:
            raise oauth_error(
                "BAD_REDIRECT_URI", "redirect_uri does not match initial auth code URL"
            )
        _check_verifier(issued.code_challenge, form.get("code_verifier"))
        refresh_token = _new_refresh_token()
        self.grants.granted[refresh_token] = (client.client_id, issued.scopes)
        return refresh_token, issued.scopes

    # Introspection and revocation --------------------------------------------------------

    def introspect(self, form: Mapping[str, str]) -> dict[str, Any]:
        """`token/introspect`: the access- or refresh-token answer, `{"active": false}` for a
        token that is unknown, expired, revoked, another app's or a Service Key (RFC 7662)."""
        client = self.client(form)
        token = form.get("token", "")
        issued = self.issued.get(token)
        now = int(time.time() * 1000)
        if issued is not None and issued.client_id == client.client_id and now < issued.expires_ms:
            return self._access_info(client, token, issued, now)
        scopes = self._refresh_scopes(client, token) if token else None
        if scopes is not None:
            return {
                "active": True,
                **self._identity(client, token, scopes),
                "token_type": "refresh",
                "token_use": "refresh_token",
            }
        return {"active": False}

    def _identity(self, client: OAuthClient, token: str, scopes: Iterable[str]) -> dict[str, Any]:
        return {
            "token": token,
            "client_id": client.client_id,
            "app_id": APP_ID,
            "hub_id": self.portal.hub_id,
            "hub_domain": self.portal.hub_domain,
            "user_id": USER_ID,
            "user": USER_EMAIL,
            "scopes": list(scopes),
        }

    def _access_info(
        self, client: OAuthClient, token: str, issued: _Issued, now: int
    ) -> dict[str, Any]:
        scope_text = ",".join(issued.scopes)
        return {
            "active": True,
            **self._identity(client, token, issued.scopes),
            "expires_in": max((issued.expires_ms - now) // 1000, 0),
            "is_private_distribution": True,
            "token_type": "access",
            "token_use": "access_token",
            "signed_access_token": {
                "appId": APP_ID,
                "appInstallId": f"{APP_ID}-{self.portal.hub_id}",
                "audience": client.client_id,
                "expiresAt": issued.expires_ms,
                "hubId": self.portal.hub_id,
                "hublet": self.portal.data_hosting_location,
                "installingUserId": USER_ID,
                "isPrivateDistribution": True,
                "isServiceAccount": issued.refresh_token is None,
                "isUserLevel": False,
                "newSignature": hashlib.sha256(b"new:" + token.encode()).hexdigest(),
                "scopeToScopeGroupPks": "",
                "scopes": scope_text,
                "signature": hashlib.sha256(b"sig:" + token.encode()).hexdigest(),
                "trialScopeToScopeGroupPks": "",
                "trialScopes": "",
                "userId": USER_ID,
            },
        }

    def revoke(self, form: Mapping[str, str]) -> None:
        """`token/revoke` (RFC 7009): the token stops working; revoking a refresh token also
        ends the access tokens minted from it. An unknown token is no error."""
        client = self.client(form)
        token = form.get("token", "")
        issued = self.issued.get(token)
        if issued is not None and issued.client_id == client.client_id:
            del self.issued[token]
            return
        if token and self._refresh_scopes(client, token) is not None:
            self.grants.revoked.add(token)
            self.grants.rotated.pop(token, None)
            for access, minted in list(self.issued.items()):
                if minted.refresh_token == token:
                    del self.issued[access]

    # The consent page's side ---------------------------------------------------------------

    def check_authorize(
        self,
        client_id: str,
        redirect_uri: str,
        scopes: Iterable[str],
        code_challenge: str = "",
        code_challenge_method: str = "",
    ) -> None:
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
        if code_challenge or code_challenge_method:
            if code_challenge_method != PKCE_METHOD:
                msg = f"Authorization failed: code_challenge_method must be {PKCE_METHOD}."
                raise ConsentError(msg)
            if not CODE_CHALLENGE.fullmatch(code_challenge):
                msg = (
                    "Authorization failed: code_challenge must be the base64url SHA-256 of the "
                    "code verifier (43 characters, no padding)."
                )
                raise ConsentError(msg)

    def grant_code(
        self,
        client_id: str,
        redirect_uri: str,
        scopes: Iterable[str],
        code_challenge: str = "",
    ) -> str:
        """The user clicked "Connect app": a single-use code for the redirect."""
        granted = tuple(s for s in scopes if s not in self.withheld_scopes)
        code = secrets.token_urlsafe(24)
        expires = time.monotonic() + AUTH_CODE_LIFETIME_S
        self.codes[code] = _Code(client_id, redirect_uri, granted, expires, code_challenge or None)
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


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _check_verifier(challenge: str | None, verifier: str | None) -> None:
    """A code issued with a challenge needs the matching verifier; one without, none."""
    if challenge is None:
        if verifier:
            raise oauth_error(
                "BAD_CODE_VERIFIER",
                "code_verifier given, but the auth code was issued without a code_challenge",
            )
        return
    if not verifier:
        raise oauth_error(
            "BAD_CODE_VERIFIER",
            "code_verifier is required: the auth code was issued with a code_challenge",
        )
    if not CODE_VERIFIER.fullmatch(verifier) or not secrets.compare_digest(
        pkce_challenge(verifier), challenge
    ):
        raise oauth_error("BAD_CODE_VERIFIER", "code_verifier does not match the code_challenge")


def _new_refresh_token() -> str:
    return "na1-" + secrets.token_hex(4) + "-" + str(uuid.uuid4())


def _redirect_allowed(uri: str, registered: set[str]) -> bool:
    if registered:
        return uri in registered
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def check_not_expired(expires_ms: int) -> None:
    """HubSpot's 401 for an OAuth access token used after `expires_ms` (epoch milliseconds),
    saying how long ago it expired; nothing while it is still valid."""
    now = int(time.time() * 1000)
    if now >= expires_ms:
        ago = (now - expires_ms) // 1000
        body = error_body(
            "EXPIRED_AUTHENTICATION",
            f"The OAuth token used to make this call expired {ago} second(s) ago.",
            context={"expire time": [iso_ms(expires_ms)]},
        )
        raise HubSpotError(401, body)


def oauth_error(status: str, message: str, error: str = "invalid_grant") -> HubSpotError:
    """A 400 in RFC 6749 shape (`error`, `error_description`) with HubSpot's `status`,
    `message`, `category` and `correlationId`."""
    body = error_body(status, message, error=error, error_description=message)
    body["status"] = status
    return HubSpotError(400, body)
