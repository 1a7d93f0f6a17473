"""Where the Bearer token comes from: a static key, or OAuth refresh before expiry.

Kept apart from the HTTP client so the client (and the preflight `check` command) can use
either source the same way: ask `token()` before each request, `invalidate()` after a 401.

A static key is a Service Key or a legacy private-app token: both are `pat-...` Bearer tokens
(https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/account-service-keys).
OAuth refreshes at `POST /oauth/2026-03/token` with a form body only; its errors follow
RFC 6749 (`error`, `error_description`) and keep HubSpot's `status` and `message`
(https://developers.hubspot.com/changelog/new-oauth-v3-api-endpoints-and-standardized-error-responses).

When HubSpot answers a refresh with a different refresh token (a rotation), the new one is
written back to the `.env` that holds the configured one (`RefreshTokenStore`: the file
`connect` wrote); when there is no such file the run stops at once with a line saying to run
`connect` again, before any record is read, so access is never lost silently. Refresh tokens
never reach STATE, logs or messages.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

from hubspot_gather_common.retry_after import parse_retry_after
from tap_hubspot_gather.errors import HubSpotAuthError, HubSpotError, redact
from tap_hubspot_gather.refresh_store import RefreshTokenStore
from tap_hubspot_gather.retry import backoff_s
from tap_hubspot_gather.transport import (
    USER_AGENT,
    Answer,
    NoAnswerError,
    Transport,
    UnsendableError,
)
from tap_hubspot_gather.versions import OAUTH_TOKEN_PATH

# HubSpot's OAuth token endpoint, relative to the API base URL (see `versions`).
TOKEN_PATH = OAUTH_TOKEN_PATH
# Refresh this long before expiry (singer-io refreshes 600 s early; tokens live 1800 s), but
# never more than a fifth of the token's lifetime, so short-lived tokens are still used.
REFRESH_MARGIN_S = 300.0
REFRESH_MARGIN_SHARE = 0.2
# The token endpoint is not rate limited like the CRM API: a few retries on 429/5xx/drops, with
# the CRM client's backoff (and its Retry-After, up to the same short ceiling).
TOKEN_RETRIES = 3
TOKEN_BACKOFF_MAX_S = 8.0
TOKEN_TIMEOUT_S = 30.0
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
CONNECT_COMMAND = "meltano invoke tap-hubspot-gather:connect"
# RFC 6749 section 5.2 error codes, and the v1 `status` values HubSpot still sends with them.
BAD_GRANT = frozenset({"invalid_grant", "BAD_REFRESH_TOKEN", "BAD_AUTH_CODE", "EXPIRED_AUTH_CODE"})
BAD_CLIENT = frozenset(
    {"invalid_client", "unauthorized_client", "BAD_CLIENT_ID", "BAD_CLIENT_SECRET"}
)
# Longest part of HubSpot's own wording kept in a message.
SAID_MAX = 200


def oauth_error(body: Mapping[str, Any], secrets: tuple[str, ...] | list[str]) -> tuple[str, str]:
    """`(code, description)` of an OAuth error body: RFC 6749's `error`/`error_description`,
    else HubSpot's `status`/`message`; the description shortened and scrubbed of secrets."""
    code = str(body.get("error") or body.get("status") or "")
    said = str(body.get("error_description") or body.get("message") or "")[:SAID_MAX]
    return code, redact(said, secrets)


def refresh_refused(status: int, body: Mapping[str, Any], secrets: tuple[str, ...]) -> str:
    """One actionable line for a refused refresh (no secret in it)."""
    code, said = oauth_error(body, secrets)
    kinds = {code, str(body.get("status") or "")}  # RFC 6749's `error` and HubSpot's `status`
    what = f"HTTP {status}" + (f", {code}" if code else "") + (f": {said}" if said else "")
    if kinds & BAD_CLIENT or status == 401:
        return (
            f"HubSpot refused the OAuth app's credentials ({what}): set client_id and "
            "client_secret to your app's values (HubSpot: Development > Apps > your app > "
            "Auth), then run again."
        )
    if kinds & BAD_GRANT:
        return (
            f"HubSpot refused the refresh token ({what}): it was revoked, expired or replaced "
            f"(app uninstalled, or a newer token issued). Run `{CONNECT_COMMAND}` again to "
            "store a new one."
        )
    return (
        f"HubSpot refused to refresh the OAuth token ({what}): check client_id, client_secret "
        f"and refresh_token, or run `{CONNECT_COMMAND}` again."
    )


class TokenSource(Protocol):
    """Gives the current Bearer token; may be told that HubSpot rejected it."""

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value this source knows, so messages can be scrubbed of them."""
        ...

    @property
    def can_refresh(self) -> bool:
        """Whether `invalidate()` can yield a different token."""
        ...

    def token(self) -> str:
        """The token to send now (refreshing first when it is about to expire)."""
        ...

    def invalidate(self) -> None:
        """HubSpot answered 401 to the current token: drop it."""
        ...


class StaticToken:
    """A Service Key or a legacy private-app token: never expires from the tap's point of view
    (a revoked or rotated key is a 401, reported as such)."""

    can_refresh = False

    def __init__(self, access_token: str) -> None:
        self._token = access_token

    @property
    def secrets(self) -> tuple[str, ...]:
        """The token itself."""
        return (self._token,)

    def token(self) -> str:
        """The configured token."""
        return self._token

    def invalidate(self) -> None:
        """Nothing to refresh: the caller reports the 401."""


class OAuthRefresher:
    """OAuth access tokens from a refresh token, renewed before they expire and after a 401."""

    can_refresh = True

    def __init__(
        self,
        api_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        store: RefreshTokenStore | None = None,
        logger: logging.Logger | None = None,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.token_url = api_url.rstrip("/") + TOKEN_PATH
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._store = store
        self._logger = logger or logging.getLogger("tap_hubspot_gather.auth")
        self._retired: list[str] = []  # replaced refresh tokens: still scrubbed from messages
        # The tap's one HTTP stack (its own pool: token calls never wait behind CRM pages).
        self._transport = transport or Transport(self.token_url, USER_AGENT)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._refresh_at = 0.0
        # The installing portal, named by every refresh answer (`hub_id`, HubSpot's OAuth
        # spec): the tap's portal id without an account-details read.
        self.hub_id: int | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Client secret, refresh token and the current access token."""
        values = (self._client_id, self._client_secret, self._refresh_token, self._access_token)
        return tuple(v for v in (*values, *self._retired) if v)

    def portal(self) -> int | None:
        """The installing portal's id from a refresh answer (refreshing now if none was
        made yet: a token call, not counted by the portal's API limits)."""
        if self.hub_id is None:
            self.token()
        return self.hub_id

    def token(self) -> str:
        """The current access token, refreshed first when it is within its margin of expiry."""
        with self._lock:
            if self._access_token is None or self._clock() >= self._refresh_at:
                self._refresh()
            assert self._access_token is not None
            return self._access_token

    def invalidate(self) -> None:
        """Forget the current token so the next `token()` refreshes."""
        with self._lock:
            self._access_token = None

    def _refresh(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "refresh_token": self._refresh_token,
        }
        payload = self._post(form)
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            msg = "HubSpot's OAuth token endpoint answered without an access_token."
            raise HubSpotAuthError(msg)
        new_refresh = payload.get("refresh_token")
        if isinstance(new_refresh, str) and new_refresh and new_refresh != self._refresh_token:
            self._keep_rotated(new_refresh, token)
        hub_id = payload.get("hub_id")
        if isinstance(hub_id, int) and not isinstance(hub_id, bool) and hub_id > 0:
            self.hub_id = hub_id
        lifetime = float(payload.get("expires_in") or 0)
        margin = min(REFRESH_MARGIN_S, lifetime * REFRESH_MARGIN_SHARE)
        self._access_token = token
        self._refresh_at = self._clock() + max(lifetime - margin, 0.0)

    def _keep_rotated(self, new_refresh: str, access_token: str) -> None:
        """HubSpot replaced the refresh token: store the new one, or stop before it is lost.

        Stored first, used after: if the write fails, the run stops with the old token still
        in the store, and says what to do.
        """
        if self._store is None:
            msg = (
                "HubSpot answered the token refresh with a new refresh token, and the tap "
                "cannot keep it: refresh_token is not read from a .env file the tap may update "
                f"(as `{CONNECT_COMMAND}` writes it). Run `{CONNECT_COMMAND}` again and remove "
                "refresh_token from meltano.yml or the config file, so the project's .env holds "
                "it and the tap keeps it current there."
            )
            raise HubSpotAuthError(msg)
        secrets = (*self.secrets, new_refresh, access_token)
        try:
            self._store.save(new_refresh)
        except (OSError, ValueError) as exc:
            msg = redact(
                f"HubSpot answered the token refresh with a new refresh token, and it could not "
                f"be written to {self._store.path} ({exc}): make that file writable, then run "
                f"`{CONNECT_COMMAND}` again.",
                secrets,
            )
            raise HubSpotAuthError(msg) from None
        self._retired.append(self._refresh_token)
        self._refresh_token = new_refresh
        self._logger.info(
            "HubSpot rotated the OAuth refresh token; the new one is stored in %s as %s.",
            self._store.path,
            self._store.variable,
        )

    def _post(self, form: dict[str, str]) -> dict[str, Any]:
        last_problem = ""
        body = urlencode(form).encode()
        refused: Answer | None = None  # the last answer worth retrying, for its Retry-After
        for attempt in range(TOKEN_RETRIES):
            if attempt:
                self._sleep(_wait_before(attempt - 1, refused))
            refused = None
            try:
                response = self._transport.send(
                    "POST",
                    self.token_url,
                    headers=FORM_HEADERS,
                    body=body,
                    timeout_s=TOKEN_TIMEOUT_S,
                )
            except NoAnswerError as exc:
                last_problem = str(exc) or type(exc).__name__
                continue
            except UnsendableError as exc:
                msg = redact(
                    f"Cannot reach HubSpot's OAuth token endpoint {self.token_url} ({exc}): "
                    "check api_url.",
                    self.secrets,
                )
                raise HubSpotError(msg) from None
            if response.status >= 500 or response.status == 429:
                last_problem = f"HTTP {response.status}"
                refused = response
                continue
            if response.status >= 400:
                raise HubSpotAuthError(
                    refresh_refused(response.status, _json(response) or {}, self.secrets)
                )
            decoded = _json(response)
            if decoded is None:
                last_problem = "a body that is not JSON"
                continue
            return decoded
        msg = redact(
            f"Could not refresh the HubSpot OAuth token at {self.token_url} after "
            f"{TOKEN_RETRIES} attempts ({last_problem}). Check api_url and that HubSpot is "
            "reachable, then re-run; the sync resumes from its last STATE.",
            self.secrets,
        )
        raise HubSpotError(msg)


def _wait_before(attempt: int, refused: Answer | None) -> float:
    """HubSpot's Retry-After when it gave one, else the client's backoff; both capped short."""
    header = refused.headers.get("Retry-After") if refused is not None else None
    asked = parse_retry_after(header) if header else None
    if asked is None:
        return backoff_s(attempt, TOKEN_BACKOFF_MAX_S)
    return min(asked, TOKEN_BACKOFF_MAX_S)


def _json(response: Answer) -> dict[str, Any] | None:
    """The answer's JSON object, or None when the body is not one."""
    try:
        decoded = json.loads(response.data)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None
