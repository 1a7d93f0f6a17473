"""The one HTTP client for HubSpot's CRM API: auth, request budget, retries, error messages.

Usable outside a stream (the preflight `check` command builds one with `from_config`).
Every call goes through `request()`: wait for the budget, send with the current token,
learn from the rate-limit headers, and then either return the JSON body, retry (429, 5xx,
423/477, timeouts, dropped connections; `Retry-After` honoured, otherwise bounded exponential
backoff with jitter; one token refresh on 401), or raise a `HubSpotError` whose message says
what went wrong and what to do, with no token and no record data in it.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import msgspec

from hubspot_gather_common.retry_after import parse_retry_after
from tap_hubspot_gather.auth import OAuthRefresher, StaticToken, TokenSource
from tap_hubspot_gather.budget import RequestBudget
from tap_hubspot_gather.errors import (
    HubSpotAuthError,
    HubSpotError,
    HubSpotRateLimitError,
    redact,
)
from tap_hubspot_gather.refresh_store import RefreshTokenStore
from tap_hubspot_gather.retry import backoff_s
from tap_hubspot_gather.transport import (
    USER_AGENT,
    Answer,
    InvalidURLError,
    NoAnswerError,
    Transport,
    UnsendableError,
)
from tap_hubspot_gather.versions import HubSpotPaths, UnknownApiVersionError, paths_for

DEFAULT_API_URL = "https://api.hubapi.com"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 8
DEFAULT_BACKOFF_MAX_S = 60.0
# Honour a Retry-After up to this long; beyond it, fail and let the next scheduled run resume.
MAX_RETRY_AFTER_S = 900.0
# "Locks will last for 2 seconds" (https://developers.hubspot.com/docs/api-reference/error-handling).
LOCKED_WAIT_S = 2.0
# 423 Locked, 429 Too Many Requests, 477 Migration in Progress, and every 5xx are transient.
HTTP_TOO_MANY_REQUESTS = 429
HTTP_NO_CONTENT = 204
RETRY_STATUSES = frozenset({423, HTTP_TOO_MANY_REQUESTS, 477})
# Hosts plain http:// may reach without allow_insecure_http: the token never leaves the machine.
LOOPBACK_NAMES = frozenset({"localhost"})
API_URL_FIX = (
    "set api_url to https://api.hubapi.com (or the full http(s) base URL of your HubSpot "
    "proxy or emulator)"
)
CA_BUNDLE_FIX = (
    "if a proxy or emulator with its own CA sits in between, point SSL_CERT_FILE or "
    "REQUESTS_CA_BUNDLE at that CA's bundle (verification itself cannot be turned off)"
)
# The scopes the tap asks for: reading companies and contacts and their property definitions.
TAP_SCOPES = (
    "crm.objects.companies.read",
    "crm.objects.contacts.read",
    "crm.schemas.companies.read",
    "crm.schemas.contacts.read",
)
# Where each credential's scopes are set (Service Keys:
# https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/account-service-keys).
KEY_SCOPES_FIX = (
    "add it to the Service Key (HubSpot: Development > Keys > Service keys > the key > Add new "
    "scope; a legacy private app: its Scopes tab), then run again"
)
OAUTH_SCOPES_FIX = (
    "add it to the OAuth app's requiredScopes (hubspot-app/src/app/app-hsmeta.json, then "
    "`hs project upload`) and run `meltano invoke tap-hubspot-gather:connect` again"
)
# What to tell the user for statuses that retrying will not fix.
_HINTS = {
    400: "The request was invalid; this is a bug in the tap or an unsupported portal "
    "setting: report it with the correlation id.",
    401: "The access_token was refused: the Service Key (or private-app token) was deleted, "
    "rotated or mistyped. Copy the key again (HubSpot: Development > Keys > Service keys > the "
    "key > Show) and set access_token.",
    403: "The credential lacks a scope: give the Service Key (or the OAuth app) the scopes "
    f"{', '.join(TAP_SCOPES)}.",
    404: "The endpoint or object does not exist: check api_url (default https://api.hubapi.com) "
    "and api_version.",
    414: "The request URL was too long: lower max_url_length.",
}
OAUTH_401_HINT = (
    "HubSpot refused a freshly refreshed OAuth access token: the app was uninstalled or its "
    "access revoked. Run `meltano invoke tap-hubspot-gather:connect` again."
)


@dataclass
class ClientStats:
    """Counts for the end-of-run log line and for tests."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)


def check_api_url(
    api_url: str, *, allow_insecure_http: bool = False, logger: logging.Logger | None = None
) -> str:
    """The base URL without trailing slash, refused at once when it cannot work or is unsafe.

    Checked once, when the client is built: a malformed URL would fail every request in a
    way that looks like a dropped connection, and plain http:// to another machine would
    send the token unencrypted (allowed only by `allow_insecure_http`, with a warning).
    """
    shown = _without_userinfo(api_url)
    try:
        parts = urlsplit(api_url)
        host = parts.hostname
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError:
        host = None
    if (
        host is None
        or parts.scheme not in ("http", "https")
        or parts.query
        or parts.fragment
        or re.search(r"\s", api_url)
    ):
        msg = f"api_url {shown!r} is not a full http(s) URL with a host: {API_URL_FIX}."
        raise HubSpotError(msg)
    if parts.scheme == "http" and not _is_loopback(host):
        if not allow_insecure_http:
            msg = (
                f"api_url uses plain http:// to {host}, which would send the HubSpot token "
                "unencrypted. Fix: use https://, or set allow_insecure_http: true if this is "
                "a trusted network (not recommended)."
            )
            raise HubSpotError(msg)
        (logger or logging.getLogger(__name__)).warning(
            "api_url uses plain http:// to %s (allow_insecure_http is set): the HubSpot token "
            "and records travel unencrypted.",
            host,
        )
    return api_url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _without_userinfo(url: str) -> str:
    """`url` with any `user:password@` replaced, so a message never echoes credentials."""
    return re.sub(r"(?<=//)[^/?#]*@", "***@", url)


OAUTH_SETTINGS = ("client_id", "client_secret", "refresh_token")


def credentials_problem(config: Mapping[str, Any]) -> str | None:
    """What is missing from the credential settings, as one actionable line; None when complete.

    Checked when the settings are validated (before discovery or a sync) and again when the
    client is built, so a run without credentials stops with this line, not a traceback.
    """
    if config.get("access_token"):
        return None
    missing = [name for name in OAUTH_SETTINGS if not config.get(name)]
    if not missing:
        return None
    if len(missing) < len(OAUTH_SETTINGS):
        return (
            f"Incomplete HubSpot OAuth credentials: {', '.join(missing)} not set. Set all of "
            f"{', '.join(OAUTH_SETTINGS)}, or access_token instead (a Service Key)."
        )
    return (
        "No HubSpot credentials: set access_token (a Service Key, pat-...; env "
        "TAP_HUBSPOT_GATHER_ACCESS_TOKEN) or all of client_id, client_secret and refresh_token "
        "(an OAuth app, via connect)."
    )


class HubSpotClient:
    """Sends CRM API requests within HubSpot's limits and classifies the answers."""

    def __init__(
        self,
        api_url: str,
        auth: TokenSource,
        *,
        budget: RequestBudget | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_max_s: float = DEFAULT_BACKOFF_MAX_S,
        transport: Transport | None = None,
        logger: logging.Logger | None = None,
        sleep: Callable[[float], None] = time.sleep,
        allow_insecure_http: bool = False,
        paths: HubSpotPaths | None = None,
    ) -> None:
        self.logger = logger or logging.getLogger("tap_hubspot_gather.client")
        self.api_url = check_api_url(
            api_url, allow_insecure_http=allow_insecure_http, logger=self.logger
        )
        self.auth = auth
        # Every path comes from here, built for the configured `api_version`.
        self.paths = paths or paths_for(None)
        self.budget = budget or RequestBudget()
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_max_s = backoff_max_s
        self.transport = transport or Transport(self.api_url, USER_AGENT)  # keep-alive pool
        self._sleep = sleep
        self.stats = ClientStats()

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], logger: logging.Logger | None = None
    ) -> HubSpotClient:
        """Build from the tap's settings (token or OAuth, limits, timeouts)."""
        api_url = str(config.get("api_url") or DEFAULT_API_URL)
        if (problem := credentials_problem(config)) is not None:
            raise HubSpotAuthError(problem)
        try:
            paths = paths_for(config.get("api_version"))
        except UnknownApiVersionError as exc:
            raise HubSpotError(str(exc)) from None
        auth: TokenSource
        if config.get("access_token"):
            auth = StaticToken(str(config["access_token"]))
        else:  # complete OAuth settings, or credentials_problem would have said so
            client_id, client_secret, refresh_token = (str(config[n]) for n in OAUTH_SETTINGS)
            auth = OAuthRefresher(
                api_url,
                client_id,
                client_secret,
                refresh_token,
                store=RefreshTokenStore.find(refresh_token),
                logger=logger,
            )
        budget = RequestBudget(
            burst_max=config.get("requests_per_10_seconds"),
            searches_per_second=int(config.get("searches_per_second") or 5),
        )
        return cls(
            api_url,
            auth,
            budget=budget,
            timeout_s=float(config.get("request_timeout") or DEFAULT_TIMEOUT_S),
            max_retries=int(config.get("max_retries", DEFAULT_MAX_RETRIES)),
            backoff_max_s=float(config.get("backoff_max_seconds") or DEFAULT_BACKOFF_MAX_S),
            logger=logger,
            allow_insecure_http=bool(config.get("allow_insecure_http", False)),
            paths=paths,
        )

    # Convenience verbs -------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, str] | None = None, *, kind: str = "") -> Any:
        """GET `path`, returning the decoded JSON body."""
        return self.request("GET", path, params=params, kind=kind or "get")

    def get_url(self, path_and_query: str, *, kind: str = "") -> Any:
        """GET a path whose query string the caller encoded (and measured) itself."""
        return self.request("GET", path_and_query, kind=kind or "get")

    def post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        params: Mapping[str, str] | None = None,
        search: bool = False,
        kind: str = "",
    ) -> Any:
        """POST a JSON body; `search=True` uses the per-second search budget."""
        return self.request(
            "POST", path, params=params, json=body, search=search, kind=kind or "post"
        )

    # The one request loop ----------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
        search: bool = False,
        kind: str = "request",
    ) -> Any:
        """Send one logical request, retrying what is transient; return the JSON body."""
        url = self.api_url + path
        if params:
            url += ("&" if "?" in path else "?") + urlencode(params)
        headers = {"Content-Type": "application/json"} if json is not None else {}
        body = _ENCODER.encode(json) if json is not None else None
        refreshed = False
        attempt = 0
        while True:
            self.budget.acquire(search=search)
            self.stats.requests += 1
            self.stats.by_kind[kind] += 1
            headers["Authorization"] = f"Bearer {self.auth.token()}"
            try:
                response = self.transport.send(
                    method, url, headers=headers, body=body, timeout_s=self.timeout_s
                )
            except NoAnswerError as exc:
                attempt = self._retry_or_raise(
                    attempt, method, path, f"{exc} (no answer)", None, search=search
                )
                continue
            except UnsendableError as exc:
                raise self._unsendable(method, path, exc) from None
            status = response.status
            self.budget.observe(response.headers, search=search, ok=status < 300)
            if status == HTTP_NO_CONTENT:
                return None  # nothing to say (the journal when nothing is newer)
            if status < 300:
                try:
                    return _DECODER.decode(response.data)
                except msgspec.DecodeError:
                    attempt = self._retry_or_raise(
                        attempt,
                        method,
                        path,
                        "a truncated or non-JSON body",
                        response,
                        search=search,
                    )
                    continue
            if status == 401 and self.auth.can_refresh and not refreshed:
                # OAuth token expired early or was revoked: refresh once, then retry at once.
                refreshed = True
                self.auth.invalidate()
                continue
            if status == HTTP_TOO_MANY_REQUESTS:
                self._on_rate_limited(response)
            if status in RETRY_STATUSES or status >= 500:
                attempt = self._retry_or_raise(
                    attempt, method, path, f"HTTP {status}", response, search=search
                )
                continue
            raise self._error(method, path, response)

    def _unsendable(self, method: str, path: str, exc: UnsendableError) -> HubSpotError:
        """Not retried: the same URL or certificate would fail the same way every time."""
        where = f"HubSpot {method} {_path_only(path)}"
        if isinstance(exc, InvalidURLError):
            msg = f"{where} cannot be sent to {_without_userinfo(self.api_url)!r} "
            msg += f"({_without_userinfo(str(exc))}): "
            msg += f"{API_URL_FIX}."
        else:
            msg = (
                f"{where}: the TLS certificate of {_without_userinfo(self.api_url)} failed "
                f"verification ({exc}). Check api_url; {CA_BUNDLE_FIX}."
            )
        return HubSpotError(redact(msg, self.auth.secrets))

    def _on_rate_limited(self, response: Answer) -> None:
        self.stats.rate_limited += 1
        body = _json_or_empty(response)
        policy = str(body.get("policyName") or "")
        if policy == "DAILY":
            msg = (
                "HubSpot's daily API limit for this account is spent (429, policy DAILY). "
                "It resets at midnight in the portal's time zone; the next run resumes from "
                "the last STATE. Other apps share this limit: check the portal's API usage."
            )
            raise HubSpotRateLimitError(msg, status=429, category="RATE_LIMIT")

    def _retry_or_raise(
        self,
        attempt: int,
        method: str,
        path: str,
        problem: str,
        response: Answer | None,
        *,
        search: bool,
    ) -> int:
        """Sleep before the next attempt, or raise when the retries are spent.

        `search` and the answer's status come from `request()`, which knows both: a refused
        search pauses the search budget, and spent retries on a 429 raise the rate-limit error.
        """
        rate_limited = response is not None and response.status == HTTP_TOO_MANY_REQUESTS
        if attempt >= self.max_retries:
            cause = (
                f"Nothing answered at {self.api_url}: check api_url and network access to it"
                if response is None
                else "HubSpot is unavailable or rate limiting this account"
            )
            msg = (
                f"HubSpot {method} {_path_only(path)} failed after {attempt + 1} attempts "
                f"(last: {problem}). {cause}; re-run later (the sync resumes from its last "
                "STATE), or raise max_retries."
            )
            if rate_limited:
                raise HubSpotRateLimitError(
                    redact(msg, self.auth.secrets), status=HTTP_TOO_MANY_REQUESTS
                )
            status = response.status if response is not None else None
            raise HubSpotError(redact(msg, self.auth.secrets), status=status)
        wait = self._retry_after(response)
        if wait is None:
            wait = backoff_s(attempt, self.backoff_max_s)
        if rate_limited:
            # Hold every request of this kind (the prefetcher's and the lookups'), not just
            # the one that was refused.
            self.budget.pause(wait, search=search)
        self.stats.retries += 1
        self.logger.warning(
            "HubSpot %s %s: %s; retry %d/%d in %.1f s",
            method,
            _path_only(path),
            problem,
            attempt + 1,
            self.max_retries,
            wait,
        )
        self._sleep(wait)
        return attempt + 1

    def _retry_after(self, response: Answer | None) -> float | None:
        if response is None:
            return None
        if response.status == 423:
            return LOCKED_WAIT_S
        value = response.headers.get("Retry-After")
        if not value:
            return None
        seconds = parse_retry_after(value)
        if seconds is None:
            return None
        if seconds > MAX_RETRY_AFTER_S:
            msg = (
                f"HubSpot asked to wait {seconds:.0f} s before retrying "
                f"(HTTP {response.status}); that is longer than this run will wait. "
                "Re-run later: the sync resumes from its last STATE."
            )
            raise HubSpotRateLimitError(msg, status=response.status)
        return seconds

    def _error(self, method: str, path: str, response: Answer) -> HubSpotError:
        body = _json_or_empty(response)
        status = response.status
        category = str(body.get("category") or "")
        # HubSpot's `message` names the problem (scope, property, limit); it carries no record
        # data for the read endpoints we call, but is shortened and scrubbed all the same.
        detail = str(body.get("message") or "")[:300]
        correlation = str(body.get("correlationId") or "")
        hint = _HINTS.get(status, "Check the settings named above; this is not retried.")
        scopes = missing_scopes(body) if status == 403 else ()
        if scopes:
            what = scopes[0] if len(scopes) == 1 else f"one of {', '.join(scopes)}"
            fix = OAUTH_SCOPES_FIX if self.auth.can_refresh else KEY_SCOPES_FIX
            hint = f"The credential lacks the scope {what}: {fix}."
        elif status == 401 and self.auth.can_refresh:
            hint = OAUTH_401_HINT
        parts = [f"HubSpot answered HTTP {status}"]
        if category:
            parts.append(f" ({category})")
        parts.append(f" to {method} {_path_only(path)}")
        if detail:
            parts.append(f": {detail}")
        parts.append(f". {hint}")
        if correlation:
            parts.append(f" (correlation id {correlation})")
        message = redact("".join(parts), self.auth.secrets)
        cls = HubSpotAuthError if status in (401, 403) else HubSpotError
        return cls(message, status=status, category=category, missing_scopes=scopes)


# msgspec decodes a page several times faster than the stdlib; bodies are encoded with it too.
_DECODER = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()


def _json_or_empty(response: Answer) -> dict[str, Any]:
    try:
        body = _DECODER.decode(response.data)
    except msgspec.DecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def missing_scopes(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The scopes a 403 `MISSING_SCOPES` body names (`errors[].context.requiredScopes`; the
    shape HubSpot sends, https://github.com/singer-io/tap-hubspot/pull/220), in order."""
    found: dict[str, None] = {}
    for error in body.get("errors") or []:
        context = error.get("context") if isinstance(error, dict) else None
        scopes = context.get("requiredScopes") if isinstance(context, dict) else None
        for scope in scopes if isinstance(scopes, list) else []:
            found[str(scope)] = None
    return tuple(found)


def _path_only(path: str) -> str:
    """The path without its query string (which may list hundreds of property names)."""
    return path.split("?", 1)[0]
