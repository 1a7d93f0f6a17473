"""HubSpot's Webhooks Journal (2026-03): the app's token, its subscriptions, and the entries.

The journal says which records changed, kept three days, read by offset
(https://developers.hubspot.com/docs/api-reference/latest/webhooks-journal/journal-entries/guide).
Its calls authenticate as the OAuth *app*, with a client-credentials token
(https://developers.hubspot.com/docs/api-reference/latest/webhooks-journal/guide); reading the
changed records still uses the portal's install token (the tap's `HubSpotClient`).

What this module relies on, and how sure that is:
- documented: the paths, `installPortalId`, `JournalFetchResponse` (`currentOffset`, `url`),
  `next` failing with 404 for an expired or unknown offset, the subscription upsert body, the
  client-credentials grant and the `developer.webhooks_journal.*` scopes, three days' retention;
- seen by others against the live API (not documented): 204 with no body when nothing is
  newer, the entry file `{"offset", "journalEvents": [...]}` fetched without authorization;
- our choice: an event's fields as read in `change_feed` (both association shapes accepted).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import msgspec

from tap_hubspot_gather.auth import OAuthRefresher
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.errors import HubSpotAuthError, HubSpotError, redact
from tap_hubspot_gather.transport import USER_AGENT, NoAnswerError, Transport, UnsendableError
from tap_hubspot_gather.versions import (
    JOURNAL_LOCAL_PATH,
    JOURNAL_SUBSCRIPTIONS_PATH,
    OAUTH_TOKEN_PATH,
)

JOURNAL_PATH = JOURNAL_LOCAL_PATH
SUBSCRIPTIONS_PATH = JOURNAL_SUBSCRIPTIONS_PATH
# The scopes a client-credentials token needs to manage subscriptions and read the journal
# (https://developers.hubspot.com/docs/api-reference/latest/webhooks-journal/guide).
JOURNAL_SCOPES = (
    "developer.webhooks_journal.read",
    "developer.webhooks_journal.subscriptions.read",
    "developer.webhooks_journal.subscriptions.write",
)
# Entries fetched per `batch/{offset}/next/{count}` call ("from 1 to 100",
# https://developers.hubspot.com/docs/api-reference/2027-03-beta/webhooks-journal/journal-entries/local/batch/get-webhook).
ENTRIES_PER_CALL = 100
HTTP_NOT_FOUND = 404
HTTP_BAD_REQUEST = 400
FILE_TIMEOUT_S = 60.0
FILE_RETRIES = 3


class JournalUnavailableError(HubSpotError):
    """The journal cannot be used for this portal (no install, missing scopes): poll."""


class JournalLostError(HubSpotError):
    """The offset expired or is unknown, or the journal failed: one complete pass."""


class AppTokenRefusedError(HubSpotAuthError):
    """HubSpot refused the app a client-credentials token (its message says why)."""


class ClientCredentialsToken(OAuthRefresher):
    """The app's own token (grant `client_credentials`): no refresh token, a new one when it
    expires (https://developers.hubspot.com/docs/api-reference/latest/authentication/manage-oauth-tokens)."""

    def __init__(
        self, api_url: str, client_id: str, client_secret: str, scopes: Sequence[str]
    ) -> None:
        super().__init__(api_url, client_id, client_secret, "")
        # The 2026-03 token endpoint takes `client_credentials` (HubSpot's OAuth spec).
        self.token_url = api_url.rstrip("/") + OAUTH_TOKEN_PATH
        self._scopes = " ".join(scopes)

    def _post(self, form: dict[str, str]) -> dict[str, Any]:
        try:
            return super()._post(form)
        except HubSpotAuthError as exc:
            msg = redact(
                f"HubSpot refused the app a client-credentials token ({exc.status or 'no status'}"
                f"). The Webhooks Journal needs the OAuth app's client_id and client_secret and "
                f"the scopes {', '.join(JOURNAL_SCOPES)} on the app.",
                self.secrets,
            )
            raise AppTokenRefusedError(msg, status=exc.status) from None

    def _refresh(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "scope": self._scopes,
        }
        payload = self._post(form)
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            msg = "HubSpot's OAuth token endpoint answered without an access_token."
            raise HubSpotAuthError(msg)
        lifetime = float(payload.get("expires_in") or 0)
        self._access_token = token
        self._refresh_at = self._clock() + max(lifetime * 0.8, 0.0)


@dataclass
class Entry:
    """One journal entry: its offset and the events of its file."""

    offset: str
    events: list[dict[str, Any]]


class JournalClient:
    """The journal and subscription calls for one installed portal."""

    def __init__(
        self,
        api_url: str,
        client_id: str,
        client_secret: str,
        portal_id: int,
        *,
        logger: logging.Logger | None = None,
        max_retries: int = 4,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.portal_id = portal_id
        self.auth = ClientCredentialsToken(api_url, client_id, client_secret, JOURNAL_SCOPES)
        # The journal's calls are exempt from the portal's daily and 10-second limits
        # ("x-hubspot-rate-limit-exemptions" in HubSpot's spec): their own client and budget.
        self.http = HubSpotClient(
            api_url,
            self.auth,
            logger=logger,
            max_retries=max_retries,
            backoff_max_s=backoff_max_s,
            allow_insecure_http=urlsplit(api_url).scheme == "http",
        )
        self.files = FileFetcher()
        self.logger = logger or logging.getLogger(__name__)

    @property
    def requests(self) -> int:
        """Journal and subscription requests so far (entry files not counted)."""
        return self.http.stats.requests

    def _params(self) -> dict[str, str]:
        return {"installPortalId": str(self.portal_id)}

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One call, with a refused install or scope turned into `JournalUnavailableError`."""
        try:
            if method == "GET":
                return self.http.get(path, self._params(), kind="journal")
            return self.http.post(path, body or {}, params=self._params(), kind="journal")
        except AppTokenRefusedError as exc:
            raise JournalUnavailableError(str(exc), status=exc.status) from None
        except HubSpotAuthError as exc:
            msg = (
                f"the app lacks a scope for the Webhooks Journal of portal {self.portal_id} "
                f"({_detail(exc)}): give the app the scopes {', '.join(JOURNAL_SCOPES)} and "
                "the read scopes of the synced objects, and reinstall it in the portal"
            )
            raise JournalUnavailableError(msg, status=exc.status) from None
        except HubSpotError as exc:
            if exc.status == HTTP_BAD_REQUEST and "install" in str(exc).lower():
                msg = (
                    f"the app is not installed in portal {self.portal_id}: install it through "
                    "the OAuth install flow (tap-hubspot-gather-connect)"
                )
                raise JournalUnavailableError(msg, status=exc.status) from None
            raise

    def latest_offset(self) -> str | None:
        """The newest entry's offset (None: the journal is empty)."""
        body = self._call("GET", f"{JOURNAL_PATH}/latest")
        return str(body["currentOffset"]) if body else None

    def entries(self, offset: str | None) -> Iterator[Entry]:
        """Every entry after `offset` (None: from the earliest), oldest first, each with the
        events of its file; `JournalLostError` when the offset expired or is unknown."""
        while True:
            if offset is None:
                body = self._call("GET", f"{JOURNAL_PATH}/batch/earliest/{ENTRIES_PER_CALL}")
            else:
                path = f"{JOURNAL_PATH}/batch/{quote(offset, safe='')}/next/{ENTRIES_PER_CALL}"
                try:
                    body = self._call("GET", path)
                except HubSpotError as exc:
                    if exc.status == HTTP_NOT_FOUND:
                        msg = (
                            f"journal offset {offset} expired or is unknown (HubSpot keeps "
                            "entries three days)"
                        )
                        raise JournalLostError(msg, status=exc.status) from None
                    raise
            results = (body or {}).get("results") or []
            if not results:
                return
            for ref in results:
                current = str(ref["currentOffset"])
                document = self.files.fetch(str(ref["url"]))
                yield Entry(current, list(document.get("journalEvents") or []))
                offset = current
            if len(results) < ENTRIES_PER_CALL:
                return

    def subscriptions(self) -> list[dict[str, Any]]:
        """The app's subscriptions for this portal."""
        body = self._call("GET", SUBSCRIPTIONS_PATH) or {}
        return [
            s
            for s in body.get("results") or []
            if str(s.get("portalId")) == str(self.portal_id) and not s.get("deletedAt")
        ]

    def subscribe(self, wanted: Mapping[str, Any]) -> None:
        """Create (or update) one subscription (POST upserts, per HubSpot's spec)."""
        self._call("POST", SUBSCRIPTIONS_PATH, {**wanted, "portalId": self.portal_id})


class FileFetcher:
    """Downloads an entry's file from its pre-signed URL (no Authorization header)."""

    def __init__(self) -> None:
        self._pools: dict[str, Transport] = {}
        self.downloads = 0

    def fetch(self, url: str) -> dict[str, Any]:
        """The file's JSON document, retried a few times on a dropped connection or 5xx."""
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
        transport = self._pools.setdefault(base, Transport(base, USER_AGENT))
        problem = ""
        for _ in range(FILE_RETRIES):
            self.downloads += 1
            try:
                answer = transport.send("GET", url, headers={}, body=None, timeout_s=FILE_TIMEOUT_S)
            except NoAnswerError as exc:
                problem = str(exc) or "no answer"
                continue
            except UnsendableError as exc:
                problem = str(exc)
                break
            if answer.status >= 500:
                problem = f"HTTP {answer.status}"
                continue
            if answer.status >= 300:
                problem = f"HTTP {answer.status}"
                break
            try:
                document = msgspec.json.decode(answer.data)
            except msgspec.DecodeError:
                problem = "a body that is not JSON"
                continue
            return document if isinstance(document, dict) else {}
        msg = f"a journal file could not be downloaded ({problem}) from {_no_query(url)}"
        raise JournalLostError(msg)


def _detail(exc: HubSpotError) -> str:
    """HubSpot's explanation inside one of our error messages (after the route)."""
    text = str(exc)
    return text.split(": ", 1)[1].split(". ", 1)[0] if ": " in text else text


def _no_query(url: str) -> str:
    """The URL without its query (a pre-signed URL's signature stays out of messages)."""
    return url.split("?", 1)[0]
