"""How records are read from HubSpot: the list strategy and the keyset search strategy.

Each pager yields `Page`s: the raw HubSpot objects plus the cursor to resume *after* that
page (None when there is nothing more). The stream checkpoints that cursor after emitting the
page, so a killed run resumes exactly where its last STATE says.

- `ListPager`: `GET /crm/objects/{version}/{type}` (100 per page, ascending ids, `after` = next id).
  Properties travel in the query string, so they are packed up to `max_url_length`; the rest
  are fetched for the same ids with `POST .../batch/read` (properties in the body). No 414.
- `SearchPager`: `POST /crm/objects/{version}/{type}/search`, 200 per page, filters
  `modified >= window_start AND modified <= window_end AND hs_object_id > last_id`, sorted by
  `hs_object_id` ascending, never an `after` offset: no 10,000-result cap, and timestamp ties
  or records changing mid-sync cannot shift a page boundary.
Both stop only on an empty page or a page whose `paging`/`paging.next` is missing or empty
(2026-09's last page), never on a short page. Paths come from `client.paths` (`api_version`).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.versions import ends_paging

# HubSpot page sizes: list max 100 (https://developers.hubspot.com/docs/api/crm/contacts),
# search max 200 (https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm),
# batch read max 100 inputs (the same contacts guide).
LIST_PAGE_SIZE = 100
SEARCH_PAGE_SIZE = 200
BATCH_READ_SIZE = 100
# Observed 414 thresholds are ~8 k to ~16 k characters
# (https://github.com/dlt-hub/verified-sources/pull/311, https://github.com/PostHog/posthog/pull/31617).
DEFAULT_MAX_URL_LENGTH = 8000
# Room kept in the URL for the `after` cursor of later pages.
CURSOR_ALLOWANCE = 64

HubSpotObject = dict[str, Any]


@dataclass
class Page:
    """One page of raw HubSpot objects and where to resume after it (None: finished)."""

    results: list[HubSpotObject]
    cursor: str | None
    total: int | None = None  # a search page: how many records the whole search matches


def _has_next(body: dict[str, Any]) -> bool:
    return not ends_paging(body)


class ListPager:
    """Pages through every (or every archived) record with the list endpoint."""

    def __init__(
        self,
        client: HubSpotClient,
        object_type: str,
        properties: Sequence[str],
        *,
        archived: bool = False,
        max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    ) -> None:
        self.client = client
        self.object_type = object_type
        self.archived = archived
        base = (
            f"{client.paths.objects(object_type)}?limit={LIST_PAGE_SIZE}"
            f"&archived={'true' if archived else 'false'}"
        )
        self._base_path = base
        self.in_url, self.in_body = self.split_properties(
            len(client.api_url) + len(base) + len("&after=") + CURSOR_ALLOWANCE,
            properties,
            max_url_length,
        )

    @staticmethod
    def split_properties(
        used: int, properties: Sequence[str], max_url_length: int
    ) -> tuple[list[str], list[str]]:
        """Properties that fit in the URL (in the given priority order), and the rest."""
        in_url: list[str] = []
        rest: list[str] = []
        length = used + len("&properties=")
        for name in properties:
            cost = len(quote(name, safe="")) + (1 if in_url else 0)
            if not rest and length + cost <= max_url_length:
                in_url.append(name)
                length += cost
            else:
                rest.append(name)
        return in_url, rest

    def _path(self, after: str | None) -> str:
        path = self._base_path
        if after:
            path += f"&after={quote(after, safe='')}"
        if self.in_url:
            path += "&properties=" + ",".join(quote(p, safe="") for p in self.in_url)
        return path

    def pages(self, after: str | None = None) -> Iterator[Page]:
        """Pages from cursor `after` (None: the beginning) to the end."""
        while True:
            body = self.client.get_url(self._path(after), kind="list")
            results: list[HubSpotObject] = body.get("results") or []
            if self.in_body and results:
                results = self._complete(results)
            nxt = body["paging"]["next"].get("after") if _has_next(body) else None
            after = str(nxt) if nxt not in (None, "") else None
            if not body.get("results"):
                after = None  # an empty page ends the list even if a cursor came back
            yield Page(results, after)
            if after is None:
                return

    def _complete(self, results: list[HubSpotObject]) -> list[HubSpotObject]:
        """Fetch the properties that did not fit in the URL, by id, and merge them in.

        A record archived between the two calls is dropped here: the archived pass (or the
        next run) reports it, and emitting it half-read would blank its other properties.
        """
        extra: dict[str, dict[str, Any]] = {}
        ids = [str(r["id"]) for r in results]
        for start in range(0, len(ids), BATCH_READ_SIZE):
            chunk = ids[start : start + BATCH_READ_SIZE]
            body = self.client.post(
                self.client.paths.batch_read(self.object_type),
                {
                    "inputs": [{"id": i} for i in chunk],
                    "properties": self.in_body,
                    "propertiesWithHistory": [],
                },
                params={"archived": "true" if self.archived else "false"},
                kind="batch_read",
            )
            for item in body.get("results") or []:
                extra[str(item["id"])] = item.get("properties") or {}
        merged = []
        for record in results:
            more = extra.get(str(record["id"]))
            if more is None:
                continue
            record["properties"] = {**(record.get("properties") or {}), **more}
            merged.append(record)
        return merged


class SearchPager:
    """Keyset pages over one modified-date window with the search endpoint."""

    def __init__(
        self,
        client: HubSpotClient,
        object_type: str,
        properties: Sequence[str],
        modified_property: str,
        *,
        extra_filters: Sequence[dict[str, Any]] = (),
    ) -> None:
        self.client = client
        self.object_type = object_type
        self.properties = list(properties)
        self.modified_property = modified_property
        self.extra_filters = list(extra_filters)

    def body(
        self, window_start_ms: int | None, window_end_ms: int | None, last_id: str | None
    ) -> dict[str, Any]:
        """The search request for the page after `last_id` inside the window."""
        filters: list[dict[str, Any]] = list(self.extra_filters)
        if window_start_ms is not None:
            filters.append(
                {
                    "propertyName": self.modified_property,
                    "operator": "GTE",
                    "value": str(window_start_ms),
                }
            )
        if window_end_ms is not None:
            filters.append(
                {
                    "propertyName": self.modified_property,
                    "operator": "LTE",
                    "value": str(window_end_ms),
                }
            )
        if last_id is not None:
            filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": last_id})
        return {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": self.properties,
            "limit": SEARCH_PAGE_SIZE,
        }

    def pages(
        self, window_start_ms: int | None, window_end_ms: int | None, last_id: str | None = None
    ) -> Iterator[Page]:
        """Pages of the window, from after `last_id` (None: the beginning) to the end."""
        path = self.client.paths.search(self.object_type)
        while True:
            body = self.client.post(
                path, self.body(window_start_ms, window_end_ms, last_id), search=True, kind="search"
            )
            results: list[HubSpotObject] = body.get("results") or []
            total = int(body.get("total") or 0)
            if not results:
                yield Page([], None, total)
                return
            last_id = max((str(r["id"]) for r in results), key=id_order)
            done = not _has_next(body)
            yield Page(results, None if done else last_id, total)
            if done:
                return


def count_matching(
    client: HubSpotClient, object_type: str, filters: Sequence[dict[str, Any]]
) -> int:
    """How many records match `filters` (one search request asking for one record)."""
    body = client.post(
        client.paths.search(object_type),
        {"filterGroups": [{"filters": list(filters)}] if filters else [], "limit": 1},
        search=True,
        kind="search",
    )
    return int(body.get("total") or 0)


def id_order(value: str) -> tuple[int, str]:
    """Numeric order for numeric ids (HubSpot ids are integers), text order otherwise."""
    return (int(value), "") if value.isdigit() else (-1, value)


# Pages fetched ahead while the current one is being emitted: HubSpot's response time and our
# per-record work then overlap instead of adding up (one is enough: the budget paces fetches).
PREFETCH_DEPTH = 1
_DONE = object()


def prefetched(pages: Iterator[Page], depth: int = PREFETCH_DEPTH) -> Iterator[Page]:
    """The same pages, fetched by a background thread up to `depth` pages ahead.

    Errors raised while fetching are re-raised here, in order. If the consumer stops early,
    the fetcher stops after at most `depth` more pages.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def fetch() -> None:
        try:
            for page in pages:
                buffer.put(page)
                if stop.is_set():
                    return
        except BaseException as exc:  # handed to the consumer, not swallowed
            buffer.put(exc)
            return
        buffer.put(_DONE)

    worker = threading.Thread(target=fetch, name="hubspot-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, Page)
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a fetcher waiting to hand over a page
            with contextlib.suppress(queue.Empty):
                buffer.get(timeout=0.05)
