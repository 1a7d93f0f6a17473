"""HubSpot's Webhooks Journal 2026-03 over HTTP: the global and local journals, their batch
endpoints, and the journal files at pre-signed-style URLs on the emulator itself.

Routes (HubSpot's spec, https://github.com/HubSpot/HubSpot-public-api-spec-collection,
PublicApiSpecs/Webhooks Journal, 2026-03; the 2027-03-beta paths are identical and served too),
under `/webhooks-journal/journal/{V}` (every portal) and `/webhooks-journal/journal-local/{V}`
(one portal, `installPortalId`):

- `GET /earliest`, `GET /latest`: `JournalFetchResponse` `{currentOffset, expiresAt, url}` of
  the oldest / newest visible file; 204 without a body when there is none (as community clients
  see it live; the spec defines no 200 body for them).
- `GET /offset/{offset}/next`: the file after `offset`; 204 when there is none yet; 404 when
  the offset "has expired or doesn't exist"
  (https://developers.hubspot.com/docs/api-reference/2027-03-beta/webhooks-journal/journal-entries/local/get-journal-local-next).
- `GET /batch/earliest/{count}`, `/batch/latest/{count}`, `/batch/{offset}/next/{count}`:
  `count` 1 to 100, entries oldest first, `BatchResponseJournalFetchResponse`.
- `POST /batch/read` `{"inputs": [offset, ...]}` (at most 100): 200, or 207 with one
  `StandardError` per offset that cannot be fetched, counted in `numErrors`.

EMULATOR CHOICES: a batch with no entry answers 200 with empty `results` (not 204);
`batch/read` returns the entry *at* each offset; `installPortalId` is required on the local
journal (400 without it) and filters the global one too; a portal that has not installed the
app answers 400 `VALIDATION_ERROR` with subCategory `APP_NOT_INSTALLED`; snapshots and
`/status/{statusId}` are not emulated (404). Every journal call is exempt from the CRM rate
limits (the spec's `x-hubspot-rate-limit-exemptions: daily, ten-secondly`).

Files: `url` is "a temporary, pre-signed URL ... Request it without an Authorization header"
(same page). The emulator serves `GET /hubspot-webhooks-journal/{appId}/{offset}.json` with
S3-style `X-Amz-*` query parameters: a request carrying an `Authorization` header answers 400
`InvalidArgument` (as S3 does for two auth mechanisms), a bad signature 403
`SignatureDoesNotMatch`, an expired URL 403 `AccessDenied`, a file past the journal's retention
404 `NoSuchKey`, all as S3's XML errors. The body is one JSON document `{offset, journalEvents,
publishedAt}` (`application/json`, not compressed).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import msgspec
from aiohttp import web

from emulators.hubspot.app_auth import JOURNAL_READ, require_app
from emulators.hubspot.errors import HubSpotError, error_body, json_response, validation_error
from emulators.hubspot.journal_store import JournalFile
from emulators.hubspot.state import HubSpotState, state_of
from emulators.hubspot.timeutil import iso_ms, now_ms
from emulators.hubspot.webhooks import Webhooks

# The date versions served (identical path sets and schemas).
VERSIONS = "2026-03|2027-03-beta"
GLOBAL_PREFIX = "/webhooks-journal/journal/{journal_version:" + VERSIONS + "}"
LOCAL_PREFIX = "/webhooks-journal/journal-local/{journal_version:" + VERSIONS + "}"
FILES_PREFIX = "/hubspot-webhooks-journal"
# Batch `count` "from 1 to 100"; batch read "up to 100 journal entries by offset"
# (https://developers.hubspot.com/docs/api-reference/2027-03-beta/webhooks-journal/journal-entries/local/batch/get-webhook).
BATCH_MAX = 100
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_decoder = msgspec.json.Decoder()


def not_installed(portal_id: int) -> HubSpotError:
    """The app is not installed in this portal (EMULATOR CHOICE of status and body)."""
    body = error_body(
        "VALIDATION_ERROR",
        f"The app is not installed in portal {portal_id}: install it through the OAuth "
        "install flow, then subscribe.",
        sub_category="APP_NOT_INSTALLED",
        context={"portalId": [str(portal_id)]},
    )
    return HubSpotError(400, body)


def _portal_filter(request: web.Request, webhooks: Webhooks) -> int | None:
    raw = request.query.get("installPortalId")
    local = request.path.startswith("/webhooks-journal/journal-local/")
    if raw is None:
        if local:
            msg = "installPortalId is required by the local journal: the portal to read"
            raise validation_error(msg)
        return None
    if not raw.isdigit():
        raise validation_error(f"installPortalId must be a portal id, got {raw!r}")
    portal = int(raw)
    if not webhooks.installed(portal):
        raise not_installed(portal)
    return portal


@dataclass
class _Reader:
    """One journal call: its state, the portal it reads (None: all) and the files it sees."""

    state: HubSpotState
    portal: int | None
    files: list[JournalFile]

    def after(self, offset: str) -> list[JournalFile]:
        """The visible files after `offset`, or a 404 when the offset expired or never
        existed in this reader's journal (a local journal knows only its portal's offsets)."""
        journal = self.state.webhooks.journal
        known = journal.by_offset.get(offset)
        if known is None or self.portal not in (None, known.portal_id):
            why = "has expired" if offset in journal.expired else "does not exist"
            msg = f"The journal offset {offset} {why}; start again from earliest or latest."
            raise HubSpotError(404, error_body("OBJECT_NOT_FOUND", msg))
        return [f for f in self.files if f.seq > known.seq]


def _visible(request: web.Request) -> _Reader:
    """Authorize, publish what is pending, and list the files this reader sees."""
    state = require_app(request, JOURNAL_READ)
    webhooks = state.webhooks
    portal = _portal_filter(request, webhooks)
    webhooks.journal.refresh(webhooks.settings)
    return _Reader(state, portal, webhooks.journal.visible(webhooks.settings, portal))


def _sign(webhooks: Webhooks, path: str, amz_date: str, expires: int) -> str:
    message = f"{path}\n{amz_date}\n{expires}".encode()
    return hmac.new(webhooks.url_secret, message, hashlib.sha256).hexdigest()


def _fetch_response(request: web.Request, webhooks: Webhooks, entry: JournalFile) -> dict[str, Any]:
    """`JournalFetchResponse` for one file, with a fresh pre-signed URL."""
    now = time.time()
    lifetime = int(webhooks.settings.url_lifetime_s)
    amz_date = datetime.fromtimestamp(int(now), tz=timezone.utc).strftime(_AMZ_DATE)
    path = f"{FILES_PREFIX}/{webhooks.app_id}/{entry.offset}.json"
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(lifetime),
        "X-Amz-SignedHeaders": "host",
        "X-Amz-Signature": _sign(webhooks, path, amz_date, lifetime),
    }
    return {
        "currentOffset": entry.offset,
        "expiresAt": iso_ms(int(now) * 1000 + lifetime * 1000),
        "url": f"{request.url.origin()}{path}?{urlencode(query)}",
    }


def _one(request: web.Request, entry: JournalFile | None) -> web.Response:
    if entry is None:
        return web.Response(status=204)
    return json_response(_fetch_response(request, state_of(request).webhooks, entry))


async def earliest(request: web.Request) -> web.Response:
    """`GET .../earliest`."""
    files = _visible(request).files
    return _one(request, files[0] if files else None)


async def latest(request: web.Request) -> web.Response:
    """`GET .../latest`."""
    files = _visible(request).files
    return _one(request, files[-1] if files else None)


async def next_entry(request: web.Request) -> web.Response:
    """`GET .../offset/{offset}/next`."""
    following = _visible(request).after(request.match_info["offset"])
    return _one(request, following[0] if following else None)


def _count(request: web.Request) -> int:
    raw = request.match_info["count"]
    if not raw.isdigit() or not 1 <= int(raw) <= BATCH_MAX:
        raise validation_error(f"count must be an integer from 1 to {BATCH_MAX}, got {raw!r}")
    return int(raw)


def _batch(
    request: web.Request, entries: list[JournalFile], started: int, **extra: Any
) -> dict[str, Any]:
    webhooks = state_of(request).webhooks
    return {
        "status": "COMPLETE",
        "results": [_fetch_response(request, webhooks, e) for e in entries],
        "startedAt": iso_ms(started),
        "completedAt": iso_ms(now_ms()),
        **extra,
    }


async def batch_earliest(request: web.Request) -> web.Response:
    """`GET .../batch/earliest/{count}`: the oldest entries, oldest first."""
    started = now_ms()
    count = _count(request)
    files = _visible(request).files
    return json_response(_batch(request, files[:count], started))


async def batch_latest(request: web.Request) -> web.Response:
    """`GET .../batch/latest/{count}`: the newest entries, oldest first."""
    started = now_ms()
    count = _count(request)
    files = _visible(request).files
    return json_response(_batch(request, files[-count:], started))


async def batch_next(request: web.Request) -> web.Response:
    """`GET .../batch/{offset}/next/{count}`: up to `count` entries after `offset`."""
    started = now_ms()
    count = _count(request)
    following = _visible(request).after(request.match_info["offset"])
    return json_response(_batch(request, following[:count], started))


async def batch_read(request: web.Request) -> web.Response:
    """`POST .../batch/read`: the entries at the given offsets; 207 lists the missing ones."""
    started = now_ms()
    reader = _visible(request)
    raw = await request.read()
    try:
        body = _decoder.decode(raw) if raw else {}
    except msgspec.DecodeError:
        raise validation_error("Invalid input JSON: the request body is not valid JSON.") from None
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise validation_error('send {"inputs": ["<offset>", ...]}')
    if len(inputs) > BATCH_MAX:
        raise validation_error(
            f"Batch input size {len(inputs)} exceeds the maximum of {BATCH_MAX}."
        )
    shown = {f.offset: f for f in reader.files}
    found = [shown[o] for o in dict.fromkeys(inputs) if o in shown]
    missing = [o for o in dict.fromkeys(inputs) if o not in shown]
    if not missing:
        return json_response(_batch(request, found, started))
    expired = reader.state.webhooks.journal.expired
    errors = [
        {
            "status": "error",
            "id": offset,
            "category": "OBJECT_NOT_FOUND",
            "message": f"The journal offset {offset} "
            + ("has expired." if offset in expired else "does not exist."),
            "context": {"offset": [offset]},
            "errors": [],
            "links": {},
        }
        for offset in missing
    ]
    body = _batch(request, found, started, errors=errors, numErrors=len(errors))
    return json_response(body, status=207)


def _s3_error(status: int, code: str, message: str) -> web.Response:
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return web.Response(status=status, text=text, content_type="application/xml")


async def journal_file(request: web.Request) -> web.Response:
    """`GET /hubspot-webhooks-journal/{app}/{offset}.json?X-Amz-...`: one file, no auth header."""
    webhooks = state_of(request).webhooks
    if "Authorization" in request.headers:
        return _s3_error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
        )
    query = request.query
    amz_date, expires = query.get("X-Amz-Date", ""), query.get("X-Amz-Expires", "")
    signature = query.get("X-Amz-Signature", "")
    expected = _sign(webhooks, request.path, amz_date, int(expires)) if expires.isdigit() else ""
    if not expected or not hmac.compare_digest(signature, expected):
        return _s3_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    try:
        signed = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return _s3_error(403, "AccessDenied", "X-Amz-Date is not a valid date")
    if time.time() > signed + int(expires):
        return _s3_error(403, "AccessDenied", "Request has expired")
    entry = webhooks.journal.by_offset.get(request.match_info["offset"])
    if entry is None or str(webhooks.app_id) != request.match_info["app_id"]:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    return json_response(entry.body())


def add_journal_routes(app: web.Application) -> None:
    """Register the global and local journals and the file URLs."""
    for prefix in (GLOBAL_PREFIX, LOCAL_PREFIX):
        app.router.add_get(prefix + "/earliest", earliest)
        app.router.add_get(prefix + "/latest", latest)
        app.router.add_get(prefix + "/offset/{offset}/next", next_entry)
        app.router.add_get(prefix + "/batch/earliest/{count}", batch_earliest)
        app.router.add_get(prefix + "/batch/latest/{count}", batch_latest)
        app.router.add_post(prefix + "/batch/read", batch_read)
        app.router.add_get(prefix + "/batch/{offset}/next/{count}", batch_next)
    app.router.add_get(FILES_PREFIX + "/{app_id}/{offset}.json", journal_file)
