"""Where the Bearer token comes from: a private app token, or OAuth refresh before expiry.

Kept apart from the HTTP client so the client (and the preflight `check` command) can use
either source the same way: ask `token()` before each request, `invalidate()` after a 401.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlencode

from hubspot_gather_common.retry_after import parse_retry_after
from tap_hubspot_gather.errors import HubSpotAuthError, HubSpotError, redact
from tap_hubspot_gather.retry import backoff_s
from tap_hubspot_gather.transport import (
    USER_AGENT,
    Answer,
    NoAnswerError,
    Transport,
    UnsendableError,
)

# HubSpot's OAuth v1 token endpoint, relative to the API base URL
# (https://developers.hubspot.com/docs/methods/OAuth2/refresh-access-token).
TOKEN_PATH = "/oauth/v1/token"  # noqa: S105 (a URL path, not a secret)
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
    """A private app access token: never expires from the tap's point of view."""

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
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.token_url = api_url.rstrip("/") + TOKEN_PATH
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        # The tap's one HTTP stack (its own pool: token calls never wait behind CRM pages).
        self._transport = transport or Transport(self.token_url, USER_AGENT)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._refresh_at = 0.0

    @property
    def secrets(self) -> tuple[str, ...]:
        """Client secret, refresh token and the current access token."""
        values = (self._client_id, self._client_secret, self._refresh_token, self._access_token)
        return tuple(v for v in values if v)

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
        lifetime = float(payload.get("expires_in") or 0)
        margin = min(REFRESH_MARGIN_S, lifetime * REFRESH_MARGIN_SHARE)
        self._access_token = token
        self._refresh_at = self._clock() + max(lifetime - margin, 0.0)
        # HubSpot may rotate the refresh token; keep the newest in memory (never in state).
        new_refresh = payload.get("refresh_token")
        if isinstance(new_refresh, str) and new_refresh:
            self._refresh_token = new_refresh

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
                raise HubSpotAuthError(self._rejection(response))
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

    def _rejection(self, response: Answer) -> str:
        body = _json(response) or {}
        reason = str(body.get("status") or body.get("error") or "")
        return redact(
            f"HubSpot refused to refresh the OAuth token (HTTP {response.status}"
            f"{', ' + reason if reason else ''}). The refresh_token, client_id or "
            "client_secret is wrong or was revoked: re-authorize the app in HubSpot and set "
            "new values for client_id, client_secret and refresh_token.",
            self.secrets,
        )


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
