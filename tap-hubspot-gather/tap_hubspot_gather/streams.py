"""One CRM stream that owns the strategies; companies and contacts add their account links.

What differs between objects is data (`objects.py`); the subclasses here only add behaviour.

State per stream (written after every page, so a killed run resumes where it stopped):

    {"bookmark": "<end of the last completed window>",
     "run": {"strategy": "list"|"search", "phase": "live"|"archived",
             "window_start": "<ISO or null>", "window_end": "<ISO>", "cursor": "<id or after>"}}

A run without a bookmark or start_date reads everything with the list endpoint (100 records
per request under the 10-second budget, the faster path); later runs search the window
`[bookmark - lookback, sync start - search lag]` by keyset. `bookmark` only moves to the
window's end once the whole window (and the archived pass, when asked for) is done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk import singerlib as singer
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context, Record
from singer_sdk.mapper import RemoveRecordTransform

from hubspot_gather_common.ids import normalize_id
from tap_hubspot_gather.accounts import AccountIndex
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.errors import MissingIdError
from tap_hubspot_gather.paging import (
    DEFAULT_MAX_URL_LENGTH,
    HubSpotObject,
    ListPager,
    Page,
    SearchPager,
    count_matching,
    id_order,
    prefetched,
)
from tap_hubspot_gather.properties import (
    JsonSchema,
    PropertyDef,
    ValueConverter,
    format_datetime,
    normalize_datetime,
    parse_datetime,
)
from tap_hubspot_gather.without_id import WithoutIdWriter

if TYPE_CHECKING:
    from tap_hubspot_gather.objects import CrmObject
    from tap_hubspot_gather.tap import TapHubspotGather

# How long search lags writes ("a few moments",
# https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm): the window ends
# this long before the sync started, so records still being indexed wait for the next run.
DEFAULT_SEARCH_LAG_S = 120
# Re-read this much before the previous window's end: covers search-index lag well beyond
# search_lag_seconds; re-read unchanged records cost HubSpot reads only (the target skips them).
DEFAULT_LOOKBACK_S = 600
RECONCILE_CHOICES = ("auto", "always", "never")
DEFAULT_RECONCILE = "auto"
MERGED_PROPERTY = "hs_merged_object_ids"  # `;`-separated ids a survivor absorbed
SAMPLE_SIZE = 10
# HubSpot purges archived records after 90 days: an archived pass older than that may have
# missed deletes (https://github.com/airbytehq/airbyte/pull/48512), so `reconcile: auto`
# re-lists everything.
ARCHIVE_RETENTION = dt.timedelta(days=90)
# Records per second HubSpot serves under its limits (17,000 records): list ~1,330, search
# ~850. A first run with a start_date lists (and filters) when that reads faster.
LIST_RECORDS_PER_S = 1330
SEARCH_RECORDS_PER_S = 850
# Companies whose contacts' links may have moved, searched 100 ids per IN filter; beyond
# RELINK_MAX_COMPANIES the contacts are re-listed instead (cheaper, bounded).
RELINK_IN_SIZE = 100
RELINK_MAX_COMPANIES = 1000

_NULLABLE_STRING: JsonSchema = {"type": ["string", "null"]}
_DATETIME: JsonSchema = {"type": ["string", "null"], "format": "date-time"}


def _ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


class CRMStream(Stream):
    """A HubSpot CRM object keyed by a configurable ID, read by list or keyset search."""

    replication_key = "updatedAt"
    is_sorted = False
    # Values are typed by our own precompiled converters; skip the SDK's per-record pass.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(
        self,
        tap: TapHubspotGather,
        *,
        obj: CrmObject,
        definitions: Iterable[PropertyDef],
        key_property: str,
    ) -> None:
        self.obj = obj
        # The tap: its client and account index (built on first use), public streams, state
        # writer and message writer.
        self.plugin = tap
        self.pass_version: int | None = None  # ACTIVATE_VERSION of a complete pass, if any
        self.object_type = obj.object_type
        self.modified_property = obj.modified_property
        self.hubspot_id_field = obj.hubspot_id_field  # the HubSpot id under its legacy name
        self.extra_properties = obj.extra_properties  # always requested when they exist
        self.definitions = {d.name: d for d in definitions}
        self._unselected: tuple[str, ...] | None = None
        self.key_property = key_property
        self._lower_key = key_property == "email"
        self._values = ValueConverter(self.definitions.values())
        self._converter = self._values
        self.skipped = 0
        self.skipped_sample: list[str] = []
        self._without_id: WithoutIdWriter | None = None  # `_skip` builds it on first use
        self.emitted = 0
        super().__init__(tap, schema=self.build_schema(), name=obj.stream_name)
        self.primary_keys = [key_property]

    @property
    def client(self) -> HubSpotClient:
        """The tap's HubSpot client, built on first use: a stream in a catalog discovered
        without credentials never builds it."""
        return self.plugin.client

    @property
    def accounts(self) -> AccountIndex:
        """The tap's account index, shared with the stream that feeds it."""
        return self.plugin.accounts

    # Schema and metadata --------------------------------------------------------------

    def base_fields(self) -> dict[str, JsonSchema]:
        """Fields every record has besides its HubSpot properties."""
        return {
            "id": {"type": ["string"]},
            "createdAt": _DATETIME,
            "updatedAt": _DATETIME,
            "archived": {"type": ["boolean", "null"]},
            self.hubspot_id_field: {"type": ["string"]},
            "merged_ids": {"type": ["array", "null"], "items": {"type": "string"}},
            "_sdc_deleted_at": _DATETIME,
            # The portal read once per run: a record id is unique within its portal only.
            "portal_id": {"type": ["string"]},
        }

    def build_schema(self) -> JsonSchema:
        """HubSpot's properties (typed), the base fields, and the key as a non-null string."""
        properties = {name: d.json_schema() for name, d in self.definitions.items()}
        properties.update(self.base_fields())
        # Never null: a record whose ID is empty goes to `<stream>_without_id` instead (see
        # README, "Records without an ID").
        properties[self.key_property] = {"type": ["string"]}
        return {"type": "object", "properties": properties}

    def automatic_fields(self) -> set[str]:
        """Fields emitted whatever the catalog selects (keys, ids, links, deletes, merges)."""
        return {self.key_property, *self.base_fields(), self.replication_key}

    @property
    def metadata(self) -> singer.MetadataMapping:
        """Standard metadata, with the fields the sync depends on marked automatic."""
        metadata = super().metadata
        for name in self.automatic_fields():
            entry = metadata.get(("properties", name))
            if entry is not None:
                entry.inclusion = singer.Metadata.InclusionType.AUTOMATIC
        return metadata

    def unselected_record_fields(self) -> tuple[str, ...]:
        """Fields a record may carry although the catalog deselected them (properties the sync
        requests for its own use, such as the modified date)."""
        if self._unselected is None:
            mask = self.mask
            fields = dict.fromkeys([*self.requested_properties(), *self.base_fields()])
            self._unselected = tuple(f for f in fields if not mask.get(("properties", f), True))
        return self._unselected

    # private SDK: no public hook replaces per-record selection and conforming (bench: speed).
    def _generate_record_messages(
        self, record: Record
    ) -> Generator[singer.RecordMessage, None, None]:
        """RECORD messages, dropping only the few deselected fields a record can hold.

        The SDK's version walks the whole schema's selection and conforms every value, for
        every record (a fifth of the tap's CPU). Ours builds records from schema fields only,
        typed by its own converters (`TYPE_CONFORMANCE_LEVEL` is NONE), and requests only
        selected properties plus `unselected_record_fields`, so dropping those is enough.
        """
        for name in self.unselected_record_fields():
            record.pop(name, None)
        extracted = dt.datetime.now(dt.timezone.utc)
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield singer.RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self.pass_version,
                    time_extracted=extracted,
                )

    def requested_properties(self) -> list[str]:
        """HubSpot properties to ask for: the selected ones plus what the sync needs."""
        mask = self.mask
        needed = [self.key_property, self.modified_property, *self.extra_properties]
        first = [p for p in dict.fromkeys(needed) if p in self.definitions]
        rest = [p for p in self.definitions if p not in first and mask.get(("properties", p), True)]
        return first + rest

    # State ----------------------------------------------------------------------------

    # private SDK: no public way to turn off the per-record bookmark (we checkpoint per page).
    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        """No per-record bookmark: the strategies checkpoint after each page instead."""

    def get_replication_key_signpost(self, context: Context | None = None) -> Any:
        """No SDK signpost: each window's end is in our own state (`run.window_end`)."""
        return None

    # private SDK: no public way to keep `starting_replication_value` out of our state.
    def _write_starting_replication_value(self, context: Context | None) -> None:
        """No SDK starting value: the window start is in our own state."""

    def _checkpoint(self) -> None:
        """Write STATE now (the tap's state writer skips a STATE equal to the last one)."""
        _ = self.stream_state  # the stream's entry exists before it is written
        self.plugin.state_writer.write_state(self.tap_state)

    def _activate_version(self, version: int) -> None:
        """ACTIVATE_VERSION for every output of this stream (stream maps may rename it)."""
        for stream_map in self.stream_maps:
            if not isinstance(stream_map, RemoveRecordTransform):
                self.plugin.write_message(
                    singer.ActivateVersionMessage(stream=stream_map.stream_alias, version=version)
                )

    def _new_run(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """Choose this run's window and strategy.

        No bookmark and no start_date: list everything (a complete pass). With a bookmark:
        search `[bookmark - lookback, now - lag]`, unless a reconciliation is due (then list
        everything, a complete pass). A first run with a start_date lists and filters when
        most records qualify (list reads faster than search).
        """
        now = dt.datetime.now(dt.timezone.utc)
        lag = dt.timedelta(seconds=int(self.config.get("search_lag_seconds", DEFAULT_SEARCH_LAG_S)))
        window_end = now - lag
        start: dt.datetime | None = None
        since: dt.datetime | None = None
        if state.get("bookmark"):
            lookback = self.config.get("lookback_seconds")
            seconds = DEFAULT_LOOKBACK_S if lookback is None else int(lookback)
            start = parse_datetime(str(state["bookmark"])) - dt.timedelta(seconds=seconds)
        elif self.config.get("start_date"):
            start = parse_datetime(str(self.config["start_date"]))
        strategy = "search" if start is not None else "list"
        complete = start is None
        if state.get("bookmark") and self._reconcile_due(state, now):
            strategy, complete = "list", True
            self.logger.info("%s: reconciliation pass (every live record is listed)", self.name)
        elif state.get("bookmark") and self.sweeps():
            strategy = "list"
        elif start is not None and not state.get("bookmark") and self._list_is_faster(start):
            strategy, since = "list", start
        return {
            "strategy": strategy,
            "phase": "live",
            "window_start": format_datetime(start) if start is not None else None,
            "window_end": format_datetime(window_end),
            "cursor": None,
            "since": format_datetime(since) if since is not None else None,
            "version": _ms(now) if complete else None,
        }

    def sweeps(self) -> bool:
        """Whether incremental runs list every record instead of searching the window."""
        return False

    def _reconcile_due(self, state: Mapping[str, Any], now: dt.datetime) -> bool:
        """`reconcile`: always, never, or (auto) when deletes may have been missed."""
        choice = str(self.config.get("reconcile") or DEFAULT_RECONCILE)
        if choice != "auto":
            return choice == "always"
        verified = state.get("verified_at")
        if not verified:
            return True  # no archived pass or complete pass known since the bookmark
        return now - parse_datetime(str(verified)) > ARCHIVE_RETENTION

    def _list_is_faster(self, start: dt.datetime) -> bool:
        """Whether listing everything beats searching since `start` (two count searches)."""
        modified = {"propertyName": self.modified_property, "operator": "GTE"}
        matching = count_matching(
            self.client, self.object_type, [{**modified, "value": str(_ms(start))}]
        )
        total = count_matching(self.client, self.object_type, [])
        faster = total / LIST_RECORDS_PER_S <= matching / SEARCH_RECORDS_PER_S
        self.logger.info(
            "%s: %d of %d records modified since start_date: reading with %s",
            self.name,
            matching,
            total,
            "list" if faster else "search",
        )
        return faster

    # Records --------------------------------------------------------------------------

    def get_records(self, context: Context | None) -> Iterator[Record]:
        """Resume or start a run, emitting each page then checkpointing its cursor.

        Phases: `live` (the window, or every record), `relink` (contacts of companies whose
        link may have moved), `archived` (with include_archived), then the bookmark moves.
        """
        state = self.stream_state
        run = state.get("run")
        if not isinstance(run, dict):
            run = self._new_run(state)
            state["run"] = run
        self.start_run(state)
        properties = self.requested_properties()
        self._converter = self._values.only(properties)
        window_start = parse_datetime(run["window_start"]) if run.get("window_start") else None
        window_end = parse_datetime(run["window_end"])
        self.logger.info(
            "%s: %s %s phase, window %s .. %s, %d properties",
            self.name,
            run["strategy"],
            run["phase"],
            run.get("window_start") or "beginning",
            run["window_end"],
            len(properties),
        )
        if run["phase"] == "live":
            if run["strategy"] == "list" or window_start is None or window_start <= window_end:
                version = run.get("version")
                self.pass_version = version if isinstance(version, int) else None
                listing_all = run["strategy"] == "list" and not run.get("since")
                if listing_all:
                    self.before_listing_all()
                pages = self._live_pages(run, properties, window_start, window_end)
                if run.get("since"):
                    pages = self._modified_since(pages, parse_datetime(str(run["since"])))
                yield from self._paged(run, pages)
                if listing_all and run.get("cursor") is None:
                    self.after_listing_all()
                self.pass_version = None
                if isinstance(version, int):
                    self._activate_version(version)
                    state["verified_at"] = run["window_end"]
            run.update(phase="relink", cursor=None)
            self.plan_relink(run)
            self._checkpoint()
        if run["phase"] == "relink":
            yield from self._relink(run, properties)
            run.update(phase="archived", cursor=None)
            self._checkpoint()
        if run["phase"] == "archived" and self.config.get("include_archived", True):
            pager = ListPager(
                self.client,
                self.object_type,
                properties,
                archived=True,
                max_url_length=self._max_url_length(),
            )
            pages = self._archived_since(prefetched(pager.pages(run.get("cursor"))), window_start)
            yield from self._paged(run, pages)
            state["verified_at"] = max(str(state.get("verified_at") or ""), run["window_end"])
        # An empty window (start after end: a start_date in the future, or a longer lag than
        # last time) keeps its start, so the bookmark never moves back before it.
        empty = (
            run["strategy"] == "search" and window_start is not None and window_start > window_end
        )
        state["bookmark"] = run["window_start"] if empty else run["window_end"]
        state.pop("run", None)
        self._checkpoint()
        self._log_summary()

    def start_run(self, state: dict[str, Any]) -> None:
        """Hook run when the stream starts (or resumes) its run."""

    def before_listing_all(self) -> None:
        """Hook run before a live phase that lists every record."""

    def after_listing_all(self) -> None:
        """Hook run after a live phase listed every record."""

    def plan_relink(self, run: dict[str, Any]) -> None:
        """Hook: choose what the relink phase reads (nothing by default)."""

    def _relink(self, run: dict[str, Any], properties: list[str]) -> Iterator[Record]:
        """Contacts whose primary company is one of `relink_ids` (100 ids per search)."""
        if run.get("relink_list"):
            lister = ListPager(
                self.client, self.object_type, properties, max_url_length=self._max_url_length()
            )
            yield from self._paged(run, prefetched(lister.pages(run.get("cursor"))))
            return
        ids: list[str] = list(run.get("relink_ids") or [])
        while int(run.get("relink_at") or 0) < len(ids):
            at = int(run.get("relink_at") or 0)
            values = ids[at : at + RELINK_IN_SIZE]
            pager = SearchPager(
                self.client,
                self.object_type,
                properties,
                self.modified_property,
                extra_filters=[
                    {"propertyName": "associatedcompanyid", "operator": "IN", "values": values}
                ],
            )
            yield from self._paged(run, prefetched(pager.pages(None, None, run.get("cursor"))))
            run.update(relink_at=at + RELINK_IN_SIZE, cursor=None)
            self._checkpoint()

    @staticmethod
    def _modified_since(pages: Iterator[Page], since: dt.datetime) -> Iterator[Page]:
        """Listed records modified at or after `since` (a first run's start_date)."""
        for page in pages:
            page.results = [
                r
                for r in page.results
                if not r.get("updatedAt") or parse_datetime(str(r["updatedAt"])) >= since
            ]
            yield page

    def _max_url_length(self) -> int:
        return int(self.config.get("max_url_length") or DEFAULT_MAX_URL_LENGTH)

    def _live_pages(
        self,
        run: Mapping[str, Any],
        properties: list[str],
        window_start: dt.datetime | None,
        window_end: dt.datetime,
    ) -> Iterator[Page]:
        if run["strategy"] == "list":
            pager = ListPager(
                self.client, self.object_type, properties, max_url_length=self._max_url_length()
            )
            return prefetched(pager.pages(run.get("cursor")))
        search = SearchPager(self.client, self.object_type, properties, self.modified_property)
        start_ms = _ms(window_start) if window_start is not None else None
        return prefetched(search.pages(start_ms, _ms(window_end), run.get("cursor")))

    @staticmethod
    def _archived_since(pages: Iterator[Page], since: dt.datetime | None) -> Iterator[Page]:
        """Archived records (the list returns all of them) archived inside the window."""
        for page in pages:
            if since is not None:
                page.results = [
                    r
                    for r in page.results
                    if not r.get("archivedAt") or parse_datetime(str(r["archivedAt"])) >= since
                ]
            yield page

    def _paged(self, run: dict[str, Any], pages: Iterator[Page]) -> Iterator[Record]:
        for page in pages:
            self.prepare_page(page.results)
            for obj in page.results:
                record = self.to_record(obj)
                if record is not None:
                    self.emitted += 1
                    yield record
            run["cursor"] = page.cursor
            if page.cursor is not None:
                self._checkpoint()

    def prepare_page(self, results: list[HubSpotObject]) -> None:
        """Hook run once per page before its records are built (batch lookups go here)."""

    def to_record(self, obj: HubSpotObject) -> Record | None:
        """One Singer record from one HubSpot object; None when its ID is empty (then it
        goes to `<stream>_without_id`, see `_skip`)."""
        properties = obj.get("properties") or {}
        hubspot_id = str(obj["id"])
        key = self.key_value(hubspot_id, properties)
        if key is None:
            self._skip(hubspot_id, obj)  # counted, reported, and sent as the retire signal
            return None
        record: dict[str, Any] = {}
        self._converter.convert(properties, record)
        archived = bool(obj.get("archived", False))
        record["id"] = hubspot_id
        record["createdAt"] = _iso(obj.get("createdAt"))
        record["updatedAt"] = _iso(obj.get("updatedAt"))
        record["archived"] = archived
        record[self.hubspot_id_field] = hubspot_id
        merged = properties.get(MERGED_PROPERTY)
        record["merged_ids"] = [m for m in str(merged).split(";") if m.strip()] if merged else []
        record["_sdc_deleted_at"] = (
            _iso(obj.get("archivedAt") or obj.get("updatedAt")) if archived else None
        )
        record[self.key_property] = key
        record["portal_id"] = self.plugin.portal_id
        self.finish_record(record, properties)
        return record

    def key_value(self, hubspot_id: str, properties: Mapping[str, Any]) -> str | None:
        """The record's normalized ID under `key_property`."""
        if self.key_property == self.hubspot_id_field:
            return hubspot_id
        return normalize_id(properties.get(self.key_property), lower=self._lower_key)

    def finish_record(self, record: dict[str, Any], properties: Mapping[str, Any]) -> None:
        """Hook for stream-specific fields."""

    def _skip(self, hubspot_id: str, obj: HubSpotObject) -> None:
        """A record whose ID is empty: never a RECORD of this stream (its key would be null);
        one RECORD of `<stream>_without_id` tells the target to retire what it held."""
        if self.config.get("fail_on_missing_id"):
            msg = (
                f"{self.name}: HubSpot record {hubspot_id} has no value in "
                f"{self.key_property!r}, so it cannot be synced to Gather. Fill the property in "
                "HubSpot, or unset fail_on_missing_id to skip such records and report them."
            )
            raise MissingIdError(msg)
        self.skipped += 1
        if len(self.skipped_sample) < SAMPLE_SIZE:
            self.skipped_sample.append(hubspot_id)
        if self._without_id is None:
            self._without_id = WithoutIdWriter(self.plugin.write_message)
        record = {
            "portal_id": self.plugin.portal_id,
            "id": hubspot_id,
            "id_property": self.key_property,
            "archived": bool(obj.get("archived", False)),
            "updatedAt": _iso(obj.get("updatedAt")),
        }
        self._without_id.write(self.stream_maps, record)

    def _log_summary(self) -> None:
        stats = self.client.stats
        self.logger.info(
            "%s: %d records emitted; client so far: %d requests, %d retries, %d answered 429",
            self.name,
            self.emitted,
            stats.requests,
            stats.retries,
            stats.rate_limited,
        )
        if self.skipped:
            self.logger.warning(
                "%s: %d records skipped because %r is empty (sample HubSpot ids: %s); they are "
                "sent only on stream %s_without_id, so the target can retire what they had in "
                "Gather. Fill the property in HubSpot so they can sync.",
                self.name,
                self.skipped,
                self.key_property,
                ", ".join(self.skipped_sample),
                self.name,
            )
        if self._values.junk:
            self.logger.warning(
                "%s: values that do not match their property type were emitted as null: %s",
                self.name,
                ", ".join(f"{name} x{count}" for name, count in self._values.junk.most_common()),
            )


def _iso(value: Any) -> str | None:
    if value in (None, ""):
        return None
    return normalize_datetime(str(value))


class CompaniesStream(CRMStream):
    """HubSpot companies -> Gather accounts: feeds the account index contacts link to."""

    def key_value(self, hubspot_id: str, properties: Mapping[str, Any]) -> str | None:
        """The account ID, also fed to the account index (even when empty) for contacts."""
        key = super().key_value(hubspot_id, properties)
        self.accounts.remember(hubspot_id, key)
        return key

    def after_listing_all(self) -> None:
        """Every company was just read: the account index knows them all."""
        if self._listed_from_start:
            self.accounts.complete = True

    def start_run(self, state: dict[str, Any]) -> None:
        """Companies noted for relinking so far (kept in STATE until contacts read them)."""
        run = state.get("run") or {}
        self._listed_from_start = run.get("phase") == "live" and not run.get("cursor")
        self._relink_seen = set(state.get("relink") or [])

    def finish_record(self, record: dict[str, Any], properties: Mapping[str, Any]) -> None:
        """Note a company whose contacts' account link may have moved: its account ID may
        have changed (any change, unless the ID is the company id), it was archived, or it
        absorbed others in a merge (their contacts now point at it)."""
        if record["archived"] or record["merged_ids"] or not self.accounts.uses_company_id:
            state = self.stream_state
            if state.get("relink_all") or record["id"] in self._relink_seen:
                return
            self._relink_seen.add(record["id"])
            state.setdefault("relink", []).append(record["id"])
            if len(self._relink_seen) > RELINK_MAX_COMPANIES:
                state.pop("relink", None)
                state["relink_all"] = True  # cheaper to re-list every contact


class ContactsStream(CRMStream):
    """HubSpot contacts -> Gather users, keyed by `user_id_property`, linked to accounts.

    Adds `primary_company_id` (the primary company's HubSpot id, from `associatedcompanyid`)
    and `primary_company_account_id` (that company's Gather account ID; null when there is no
    company or it has no account ID).
    """

    def base_fields(self) -> dict[str, JsonSchema]:
        """The CRM base fields plus the links to the primary company."""
        fields = super().base_fields()
        fields["primary_company_id"] = _NULLABLE_STRING
        fields["primary_company_account_id"] = _NULLABLE_STRING
        return fields

    def prepare_page(self, results: list[HubSpotObject]) -> None:
        """Look up, in batches, the account IDs of this page's companies not yet known."""
        companies = (
            normalize_id((r.get("properties") or {}).get("associatedcompanyid")) for r in results
        )
        self.accounts.resolve(c for c in companies if c is not None)

    def sweeps(self) -> bool:
        """`relink_sweep`: list every contact each run, so a contact re-pointed to another
        company is re-linked although HubSpot may not change its modified date."""
        return bool(self.config.get("relink_sweep", True))

    def before_listing_all(self) -> None:
        """Every contact is about to be read: cache every company's account ID first."""
        self.accounts.prime()

    def plan_relink(self, run: dict[str, Any]) -> None:
        """Take the companies the companies stream noted (from its STATE, atomically with
        this stream's): search their contacts, or list every contact when there are many."""
        companies = self.plugin.streams.get("companies")
        noted = companies.stream_state if companies is not None else {}
        ids = noted.pop("relink", None) or []
        relist = bool(noted.pop("relink_all", False))
        if run["strategy"] == "list" and not run.get("since"):
            return  # every contact was just read with its current link
        if relist:
            run["relink_list"] = True
        elif ids:
            run.update(relink_ids=sorted(set(ids), key=id_order), relink_at=0)

    def finish_record(self, record: dict[str, Any], properties: Mapping[str, Any]) -> None:
        """Attach the primary company's id and account ID."""
        company = normalize_id(properties.get("associatedcompanyid"))
        record["primary_company_id"] = company
        record["primary_company_account_id"] = self.accounts.account_id(company)
