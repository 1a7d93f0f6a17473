"""One CRM stream that owns the strategies; companies and contacts add their account links.

What differs between objects is data (`objects.py`); the subclasses here only add behaviour.
A run is a small state machine (`run_state.py`): `plan_run` picks a strategy, `get_records`
reads its phases in order and checkpoints STATE after every page, so a killed run resumes
where it stopped.

A run without a bookmark or start_date reads everything with the list endpoint (100 records
per request under the 10-second budget, the faster path); later runs search the window
`[bookmark - lookback, sync start - search lag]` by keyset, or, in journal mode, re-read the
records HubSpot's Webhooks Journal named (`change_feed.py`). `bookmark` only moves to the
window's end once the whole run is done.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk import singerlib as singer
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context, Record
from singer_sdk.mapper import RemoveRecordTransform

from hubspot_gather_common.ids import normalize_id
from tap_hubspot_gather.account_history import NEVER
from tap_hubspot_gather.accounts import AccountIndex
from tap_hubspot_gather.batch_read import BatchReader
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.compat import override
from tap_hubspot_gather.errors import MissingIdError
from tap_hubspot_gather.paging import (
    BATCH_READ_SIZE,
    DEFAULT_MAX_URL_LENGTH,
    SEARCH_PAGE_SIZE,
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
from tap_hubspot_gather.run_state import JournalState, Phase, Run, Strategy, StreamState
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
# Account-ID changes remembered as handed over (`relinked`, ~40 bytes each in every STATE):
# beyond this the oldest are forgotten, which costs at most one more re-link of those
# companies' contacts if they are modified again before the next sweep.
RELINKED_MAX_ENTRIES = 1000
# `relink_sweep`: list every contact at most this often (the sweep re-reads every contact;
# between sweeps incremental runs search their window).
DEFAULT_RELINK_SWEEP_INTERVAL_S = 24 * 3600

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
        self._saved: StreamState | None = None  # typed STATE, read on first use
        # The search pages a first run's planning started reading (`_list_is_faster`).
        self._first_pages: Iterator[Page] | None = None
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
        return self.record_fields(self.hubspot_id_field)

    @classmethod
    def record_fields(cls, hubspot_id_field: str) -> dict[str, JsonSchema]:
        """The fields the tap adds to a record of this stream (what is not a HubSpot property:
        a catalog's schema minus these is the properties to request, see `tap.py`)."""
        return {
            "id": {"type": ["string"]},
            "createdAt": _DATETIME,
            "updatedAt": _DATETIME,
            "archived": {"type": ["boolean", "null"]},
            hubspot_id_field: {"type": ["string"]},
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
    @override
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
    @override
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

    @property
    def saved(self) -> StreamState:
        """This stream's STATE, typed (read once from singer-sdk's state dict, then kept)."""
        if self._saved is None:
            self._saved = StreamState.from_dict(self.stream_state)
        return self._saved

    def store(self) -> None:
        """Write the typed state into singer-sdk's state dict (the next STATE carries it)."""
        if self._saved is not None:
            self._saved.write_into(self.stream_state)

    # private SDK: no public way to turn off the per-record bookmark (we checkpoint per page).
    @override
    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        """No per-record bookmark: the strategies checkpoint after each page instead."""

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> Any:
        """No SDK signpost: each window's end is in our own state (`run.window_end`)."""
        return None

    # private SDK: no public way to keep `starting_replication_value` out of our state.
    @override
    def _write_starting_replication_value(self, context: Context | None) -> None:
        """No SDK starting value: the window start is in our own state."""

    def _checkpoint(self) -> None:
        """Write STATE now: this stream's and every peer's a hand-off touched (the tap's
        state writer skips a STATE equal to the last one)."""
        for stream in self.plugin.crm_streams():
            stream.store()
        self.plugin.state_writer.write_state(self.tap_state)

    def _activate_version(self, version: int) -> None:
        """ACTIVATE_VERSION for every output of this stream (stream maps may rename it)."""
        for stream_map in self.stream_maps:
            if not isinstance(stream_map, RemoveRecordTransform):
                self.plugin.write_message(
                    singer.ActivateVersionMessage(stream=stream_map.stream_alias, version=version)
                )

    # Planning a run -------------------------------------------------------------------

    def plan_run(self, saved: StreamState) -> Run:
        """Choose this run's strategy and window (hook 1: only when STATE holds no run).

        Journal mode with the journal read so far: the ids it named (`Strategy.JOURNAL`).
        Otherwise, no bookmark and no start_date: list everything (a complete pass). With a
        bookmark: search `[bookmark - lookback, now - lag]`, unless a reconciliation or a
        relink sweep is due (then list everything). A first run with a start_date lists and
        filters when most records qualify (list reads faster than search).
        """
        now = dt.datetime.now(dt.timezone.utc)
        window_end = now - self.search_lag()
        feed = self.plugin.change_feed
        resync = feed.prepare(self, saved) if feed is not None else None
        if resync is None and feed is not None and feed.ready(self, saved):
            if self.config.get("reconcile") != "always":
                run = Run(Strategy.JOURNAL, Phase.CHANGES, window_end=format_datetime(window_end))
                feed.plan(self, saved, run)
                return run
            self.logger.info("%s: reconciliation pass (reconcile: always)", self.name)
            resync = "reconcile: always"
        if resync is not None:
            return self.complete_run(now, window_end)
        start: dt.datetime | None = None
        since: dt.datetime | None = None
        if saved.bookmark:
            lookback = self.config.get("lookback_seconds")
            seconds = DEFAULT_LOOKBACK_S if lookback is None else int(lookback)
            start = parse_datetime(saved.bookmark) - dt.timedelta(seconds=seconds)
        elif self.config.get("start_date"):
            start = parse_datetime(str(self.config["start_date"]))
        if start is None:
            return self.complete_run(now, window_end)
        if saved.bookmark and self._reconcile_due(saved, now):
            self.logger.info("%s: reconciliation pass (every live record is listed)", self.name)
            return self.complete_run(now, window_end, start=start)
        strategy = Strategy.SEARCH
        if saved.bookmark and self.sweeps(saved, now):
            strategy = Strategy.LIST
        elif not saved.bookmark and self._list_is_faster(start, window_end):
            strategy, since = Strategy.LIST, start
        return Run(
            strategy,
            Phase.LIVE,
            window_start=format_datetime(start),
            window_end=format_datetime(window_end),
            since=format_datetime(since) if since is not None else None,
        )

    def search_lag(self) -> dt.timedelta:
        """`search_lag_seconds`: how far behind now a window ends (also the allowance for
        HubSpot's clock when our own moments are compared with its timestamps)."""
        seconds = self.config.get("search_lag_seconds", DEFAULT_SEARCH_LAG_S)
        return dt.timedelta(seconds=int(seconds))

    def complete_run(
        self, now: dt.datetime, window_end: dt.datetime, *, start: dt.datetime | None = None
    ) -> Run:
        """A run listing every live record, ended by ACTIVATE_VERSION (the archived phase
        still reads from `start`, the previous window, when there was one)."""
        return Run(
            Strategy.LIST,
            Phase.LIVE,
            window_start=format_datetime(start) if start is not None else None,
            window_end=format_datetime(window_end),
            version=_ms(now),
        )

    def sweeps(self, saved: StreamState, now: dt.datetime) -> bool:
        """Whether this incremental run lists every record instead of searching the window."""
        return False

    def _reconcile_due(self, saved: StreamState, now: dt.datetime) -> bool:
        """`reconcile`: always, never, or (auto) when deletes may have been missed."""
        choice = str(self.config.get("reconcile") or DEFAULT_RECONCILE)
        if choice != "auto":
            return choice == "always"
        if not saved.verified_at:
            return True  # no archived pass or complete pass known since the bookmark
        return now - parse_datetime(saved.verified_at) > ARCHIVE_RETENTION

    def _list_is_faster(self, start: dt.datetime, window_end: dt.datetime) -> bool:
        """Whether listing everything beats searching since `start`.

        The window's first search page says how many records it matches (`total`); it is
        kept for the live phase, so a search that fits one page costs no count at all. Only
        when more match is every record counted (one search asking for one record).
        """
        start_ms = _ms(parse_datetime(format_datetime(start)))  # as the run's STATE holds it
        end_ms = _ms(parse_datetime(format_datetime(window_end)))
        search = SearchPager(
            self.client, self.object_type, self.requested_properties(), self.modified_property
        )
        pages = search.pages(start_ms, end_ms)
        first = next(pages)
        matching = first.total or 0
        self._first_pages = itertools.chain([first], pages)
        if matching <= SEARCH_PAGE_SIZE:
            return False  # one search page at most: nothing reads them faster (no total count)
        total = count_matching(self.client, self.object_type, [])
        faster = total / LIST_RECORDS_PER_S <= matching / SEARCH_RECORDS_PER_S
        self.logger.info(
            "%s: %d of %d records modified since start_date: reading with %s",
            self.name,
            matching,
            total,
            "list" if faster else "search",
        )
        if faster:
            self._first_pages = None
        return faster

    # Records: the run as named phases ----------------------------------------------------

    @override
    def get_records(self, context: Context | None) -> Iterator[Record]:
        """Resume or plan a run, then read its phases in order, checkpointing between them.

        Phases (`run_state.Phase`): `live` (the window, or every record), `changes` (the
        records HubSpot's journal named), `relink` (contacts of companies whose account link
        moved), `archived` (with include_archived); then `finish_run` moves the bookmark.
        A phase may replace the run (a lost journal becomes a complete pass). Hook order:
        docs/architecture.md, "The tap's run".
        """
        saved = self.saved
        if saved.run is None:
            saved.run = self.plan_run(saved)
        self.start_run(saved)
        properties = self.requested_properties()
        self._converter = self._values.only(properties)
        phases: dict[Phase, Callable[[Run, list[str]], Iterator[Record]]] = {
            Phase.LIVE: self.read_live,
            Phase.CHANGES: self.read_changes,
            Phase.RELINK: self.read_relink,
            Phase.ARCHIVED: self.read_archived,
        }
        while (run := saved.run) is not None and not run.finished:
            applies = self.phase_applies(run)
            if applies:
                self._log_phase(run, properties)
                yield from phases[run.phase](run, properties)
            if saved.run is not run:
                continue  # replaced (a lost journal): the new run starts at its first phase
            self.end_phase(run)
            if applies and not run.finished:
                self._checkpoint()
        self.finish_run(saved)
        self._checkpoint()
        self._log_summary()

    def _log_phase(self, run: Run, properties: list[str]) -> None:
        self.logger.info(
            "%s: %s %s phase, window %s .. %s, %d properties",
            self.name,
            run.strategy.value,
            run.phase.value,
            run.window_start or "beginning",
            run.window_end,
            len(properties),
        )

    def phase_applies(self, run: Run) -> bool:
        """Whether the run's current phase reads anything (a skipped one writes no STATE)."""
        journal = run.strategy is Strategy.JOURNAL
        if run.phase is Phase.LIVE:
            return not journal or run.catch_up_end is not None
        if run.phase is Phase.CHANGES:
            return journal
        if run.phase is Phase.RELINK:
            return bool(run.relink_ids or run.relink_list)
        if run.phase is Phase.ARCHIVED:
            return not journal and bool(self.config.get("include_archived", True))
        return False

    def end_phase(self, run: Run) -> None:
        """Leave the current phase for the next; the relink phase is planned on entry."""
        run.enter(run.phase.next)
        if run.phase is Phase.RELINK:
            self.plan_relink(run)

    def read_live(self, run: Run, properties: list[str]) -> Iterator[Record]:
        """The window (search), or every record (list); a complete pass ends with
        ACTIVATE_VERSION and marks the stream verified."""
        window_start = parse_datetime(run.window_start) if run.window_start else None
        window_end = parse_datetime(run.window_end)
        if run.strategy is Strategy.JOURNAL:
            if run.catch_up_end is None or window_start is None:
                return
            # The first journal run: the polling window before it ended at the search lag,
            # the journal starts at its offset: search the gap (with the usual lookback).
            yield from self._paged(run, self._catch_up_pages(run, properties, window_start))
            return
        empty = window_start is not None and window_start > window_end
        if run.strategy is Strategy.SEARCH and empty:
            return  # an empty window
        self.pass_version = run.version
        from_start = run.cursor is None
        if run.lists_everything:
            self.before_listing_all()
        pages = self._live_pages(run, properties, window_start, window_end)
        if run.since:
            pages = self._modified_since(pages, parse_datetime(run.since))
        yield from self._paged(run, pages)
        if run.lists_everything:
            self.after_listing_all(from_start=from_start)
        self.pass_version = None
        if run.version is not None:
            self._activate_version(run.version)
            self.saved.verified_at = run.window_end

    def read_changes(self, run: Run, properties: list[str]) -> Iterator[Record]:
        """Journal mode: the records the journal named, re-read 100 per batch request.

        The stream holding the journal offset reads the journal first and hands every
        stream its ids (`change_feed.ChangeFeed.read`); a lost journal replaces the run with
        a complete pass.
        """
        feed = self.plugin.change_feed
        if run.strategy is not Strategy.JOURNAL or feed is None:
            return
        replacement = feed.read(self)
        if replacement is not None:
            now = dt.datetime.now(dt.timezone.utc)
            self.saved.run = self.complete_run(now, parse_datetime(run.window_end))
            return
        yield from self._read_pending(properties)

    def read_relink(self, run: Run, properties: list[str]) -> Iterator[Record]:
        """Contacts of the companies `plan_relink` chose (100 companies per IN search), or
        every contact when there were too many."""
        if run.relink_list:
            from_start = run.cursor is None
            lister = ListPager(
                self.client, self.object_type, properties, max_url_length=self._max_url_length()
            )
            yield from self._paged(run, prefetched(lister.pages(run.cursor)))
            self.after_listing_all(from_start=from_start)  # every link was just read too
            return
        ids = run.relink_ids
        while run.relink_at < len(ids):
            values = ids[run.relink_at : run.relink_at + RELINK_IN_SIZE]
            pager = SearchPager(
                self.client,
                self.object_type,
                properties,
                self.modified_property,
                extra_filters=[
                    {"propertyName": "associatedcompanyid", "operator": "IN", "values": values}
                ],
            )
            yield from self._paged(run, prefetched(pager.pages(None, None, run.cursor)))
            run.relink_at += RELINK_IN_SIZE
            run.cursor = None
            self._checkpoint()

    def read_archived(self, run: Run, properties: list[str]) -> Iterator[Record]:
        """Records archived inside the window (include_archived; the journal reports its
        deletes itself)."""
        if run.strategy is Strategy.JOURNAL or not self.config.get("include_archived", True):
            return
        window_start = parse_datetime(run.window_start) if run.window_start else None
        pager = ListPager(
            self.client,
            self.object_type,
            properties,
            archived=True,
            max_url_length=self._max_url_length(),
        )
        pages = self._archived_since(prefetched(pager.pages(run.cursor)), window_start)
        yield from self._paged(run, pages)
        self.saved.verified_at = max(self.saved.verified_at or "", run.window_end)

    def finish_run(self, saved: StreamState) -> None:
        """The run is done: the bookmark moves to its window's end and the run is dropped.

        An empty window (start after end: a start_date in the future, or a longer lag than
        last time) keeps its start, so the bookmark never moves back before it.
        """
        run = saved.run
        assert run is not None
        empty = (
            run.strategy is Strategy.SEARCH
            and run.window_start is not None
            and parse_datetime(run.window_start) > parse_datetime(run.window_end)
        )
        saved.bookmark = run.window_start if empty else run.window_end
        if run.lists_everything:
            saved.listed_at = run.window_end
        feed = self.plugin.change_feed
        if feed is not None:
            feed.finish(self, saved, run)
        saved.run = None

    # Hooks, in the order a run calls them (docs/architecture.md, "The tap's run") --------

    def start_run(self, saved: StreamState) -> None:
        """Hook 2: the stream starts (or resumes) the run `saved.run`."""

    def before_listing_all(self) -> None:
        """Hook 3: a live phase is about to list every record."""

    def after_listing_all(self, *, from_start: bool) -> None:
        """Hook 6: a phase listed every record (the live phase, or a relink phase listing every
        contact; `from_start`: in this process, so every record passed through `to_record`)."""

    def plan_relink(self, run: Run) -> None:
        """Hook 7: choose what the relink phase reads (nothing by default)."""

    # Reading ------------------------------------------------------------------------------

    def _read_pending(self, properties: list[str]) -> Iterator[Record]:
        """The journal's ids for this stream, 100 per batch read, checkpointed per batch.

        Ids the journal said were deleted are read archived, the others live (each group in
        batches of 100; one more read only for an id whose state moved since). Live records
        are emitted as they are now (a merged-away id answers with its survivor); ids HubSpot
        has forgotten (a privacy deletion, a purge) become tombstones the target retires.
        """
        journal = self.saved.journal_state
        reader = BatchReader(self.client, self.object_type, properties)
        emitted: set[str] = set()  # a survivor answers for several ids: emitted once
        while journal.pending:
            gone_ids, archived_first, live_first = _by_expected_state(journal)
            if gone_ids:
                chunk, live, archived = gone_ids[:BATCH_READ_SIZE], [], []
            elif live_first:
                chunk = live_first[:BATCH_READ_SIZE]
                live = reader.read(chunk, archived=False)
                archived = reader.read(_missing(chunk, live), archived=True)
            else:
                chunk = archived_first[:BATCH_READ_SIZE]
                archived = reader.read(chunk, archived=True)
                live = reader.read(_missing(chunk, archived), archived=False)
            merged_away = set(journal.merged_away)
            missing = _missing(chunk, [*live, *archived])
            forgotten = [i for i in missing if i not in merged_away]
            tombstones = [self.tombstone(i, journal.gone) for i in forgotten]
            page = [o for o in [*live, *archived, *tombstones] if str(o["id"]) not in emitted]
            page = _dedupe(page)
            emitted.update(str(o["id"]) for o in page)
            yield from self._paged(None, iter([Page(page, None)]))
            done = set(chunk)
            journal.pending = [i for i in journal.pending if i not in done]
            journal.deleted = [i for i in journal.deleted if i not in done]
            journal.merged_away = [i for i in journal.merged_away if i not in done]
            for i in chunk:
                journal.gone.pop(i, None)
            self._checkpoint()

    def tombstone(self, hubspot_id: str, gone: Mapping[str, str]) -> HubSpotObject:
        """A record HubSpot has forgotten (privacy deletion or purge), as an archived
        object without properties: the target retires what it had for this HubSpot id."""
        when = gone.get(hubspot_id) or format_datetime(dt.datetime.now(dt.timezone.utc))
        return {
            "id": hubspot_id,
            "properties": {},
            "archived": True,
            "archivedAt": when,
            "updatedAt": when,
        }

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
        run: Run,
        properties: list[str],
        window_start: dt.datetime | None,
        window_end: dt.datetime,
    ) -> Iterator[Page]:
        if run.strategy is Strategy.LIST:
            pager = ListPager(
                self.client, self.object_type, properties, max_url_length=self._max_url_length()
            )
            return prefetched(pager.pages(run.cursor))
        first, self._first_pages = self._first_pages, None
        if first is not None and run.cursor is None:
            return prefetched(first)  # the page planning read, then the rest of the search
        search = SearchPager(self.client, self.object_type, properties, self.modified_property)
        start_ms = _ms(window_start) if window_start is not None else None
        return prefetched(search.pages(start_ms, _ms(window_end), run.cursor))

    def _catch_up_pages(
        self, run: Run, properties: list[str], window_start: dt.datetime
    ) -> Iterator[Page]:
        lookback = self.config.get("lookback_seconds")
        seconds = DEFAULT_LOOKBACK_S if lookback is None else int(lookback)
        start = window_start - dt.timedelta(seconds=seconds)
        end = parse_datetime(str(run.catch_up_end))
        search = SearchPager(self.client, self.object_type, properties, self.modified_property)
        return prefetched(search.pages(_ms(start), _ms(end), run.cursor))

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

    def _paged(self, run: Run | None, pages: Iterator[Page]) -> Iterator[Record]:
        for page in pages:
            self.prepare_page(page.results)
            for obj in page.results:
                record = self.to_record(obj)
                if record is not None:
                    self.emitted += 1
                    yield record
            if run is not None:
                run.cursor = page.cursor
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


def _merged_ids(obj: HubSpotObject) -> list[str]:
    """The ids a HubSpot object absorbed in merges (`hs_merged_object_ids`)."""
    merged = (obj.get("properties") or {}).get(MERGED_PROPERTY)
    return [m for m in str(merged).split(";") if m.strip()] if merged else []


def _by_expected_state(journal: JournalState) -> tuple[list[str], list[str], list[str]]:
    """Pending ids the journal said were erased, deleted (archived), and the rest."""
    deleted = set(journal.deleted)
    gone = [i for i in journal.pending if i in journal.gone]
    archived = [i for i in journal.pending if i in deleted and i not in journal.gone]
    live = [i for i in journal.pending if i not in deleted and i not in journal.gone]
    return gone, archived, live


def _missing(ids: list[str], found: list[HubSpotObject]) -> list[str]:
    """The ids HubSpot did not answer for (a survivor answers for the ids merged into it)."""
    answered = {str(o["id"]) for o in found} | {m for o in found for m in _merged_ids(o)}
    return [i for i in ids if i not in answered]


def _dedupe(objects: list[HubSpotObject]) -> list[HubSpotObject]:
    """Each HubSpot id once (a survivor answers for every id merged into it)."""
    seen: set[str] = set()
    out = []
    for obj in objects:
        if str(obj["id"]) not in seen:
            seen.add(str(obj["id"]))
            out.append(obj)
    return out


class CompaniesStream(CRMStream):
    """HubSpot companies -> Gather accounts: feeds the account index contacts link to.

    Notes, for the stream that links to accounts, the companies whose contacts' account link
    may have moved (`StreamState.relink`, handed over through STATE).
    """

    @override
    def key_value(self, hubspot_id: str, properties: Mapping[str, Any]) -> str | None:
        """The account ID, also fed to the account index (even when empty) for contacts."""
        key = super().key_value(hubspot_id, properties)
        self.accounts.remember(hubspot_id, key)
        return key

    @override
    def after_listing_all(self, *, from_start: bool) -> None:
        """Every company was just read: the account index knows them all."""
        if from_start:
            self.accounts.complete = True

    @override
    def start_run(self, saved: StreamState) -> None:
        """What this run notes: nothing on a first read (contacts are read whole too); else
        companies archived or merged, and, polling with an account ID other than the company
        id, those whose account ID changed since the contacts last read every link (or, before
        any such read is known, every company modified after the previous run's read)."""
        run = saved.run
        assert run is not None
        self._relink_seen = set(saved.relink)
        self._noting = saved.bookmark is not None
        self._seen_through: str | None = None
        if saved.bookmark is not None and saved.listed_at == saved.bookmark:
            # The previous run listed every company: it saw each one modified before its end
            # (lookback re-reads of those changed nothing).
            self._seen_through = saved.bookmark
        self._by_modification = (
            not self.accounts.uses_company_id and run.strategy is not Strategy.JOURNAL
        )
        linker = self.plugin.account_linker()
        self._links_at = None if linker is None else linker.saved.links_at
        if self._links_at is not None:
            # Changes before the contacts' last full read are in every contact emitted since.
            since = self._links_at
            kept = sorted(((at, c) for c, at in saved.relinked.items() if at >= since))
            saved.relinked = {c: at for at, c in kept[-RELINKED_MAX_ENTRIES:]}
        if linker is not None and linker.saved.run is None:
            now = dt.datetime.now(dt.timezone.utc)
            if linker.sweeps(linker.saved, now):
                # The contacts list every record with its link right after: nothing to note.
                self._by_modification = False
        self._changed: dict[str, str] = {}  # this page's companies whose account ID moved

    @override
    def prepare_page(self, results: list[HubSpotObject]) -> None:
        """Polling with an account ID other than the company id: read when the account ID of
        this page's companies modified since `links_at` last changed (`account_history`, 50
        companies per request), so only a real change hands a company's contacts over."""
        self._changed = {}
        if not (self._noting and self._by_modification and self._links_at is not None):
            return
        since = self._links_at
        candidates = [
            str(r["id"])
            for r in results
            if not r.get("archived")
            and not _merged_ids(r)
            and (_iso(r.get("updatedAt")) or since) >= since  # no date: ask
        ]
        if not candidates:
            return
        last = self.plugin.account_history.last_changes(candidates)
        relinked = self.saved.relinked
        for company_id in candidates:
            when = last.get(company_id)
            if when is None:
                self._changed[company_id] = ""  # gone since it was listed: hand it over
            elif when != NEVER and when >= since and relinked.get(company_id) != when:
                self._changed[company_id] = when

    @override
    def to_record(self, obj: HubSpotObject) -> Record | None:
        """The record, after noting the company if its contacts' account link may have moved;
        also when it is no record (an empty account ID sends it to `companies_without_id`,
        and its contacts lose their account)."""
        self._note_if_moved(obj)
        return super().to_record(obj)

    def _note_if_moved(self, obj: HubSpotObject) -> None:
        """Note a company whose contacts' account link may have moved: it was archived, it
        absorbed others in a merge (their contacts now point at it), or, polling with an
        account ID other than the company id, its account ID changed (`prepare_page`; the
        journal says exactly which account IDs changed: `change_feed`)."""
        if not self._noting:
            return
        company_id = str(obj["id"])
        moved = bool(obj.get("archived", False)) or bool(_merged_ids(obj))
        if not moved and self._by_modification:
            if self._links_at is not None:
                when = self._changed.get(company_id)
                moved = when is not None
                if when:
                    self.saved.relinked[company_id] = when
            else:
                updated = _iso(obj.get("updatedAt"))
                moved = self._seen_through is None or (
                    updated is not None
                    and parse_datetime(updated) > parse_datetime(self._seen_through)
                )
        if moved:
            self.note_relink(company_id)

    def note_relink(self, company_id: str) -> None:
        """Hand a company to the linking stream: its contacts are re-read with their links
        (beyond RELINK_MAX_COMPANIES, every contact is re-listed instead)."""
        saved = self.saved
        if saved.relink_all or company_id in self._relink_seen:
            return
        self._relink_seen.add(company_id)
        saved.relink.append(company_id)
        if len(self._relink_seen) > RELINK_MAX_COMPANIES:
            saved.relink = []
            saved.relink_all = True  # cheaper to re-list every contact


class ContactsStream(CRMStream):
    """HubSpot contacts -> Gather users, keyed by `user_id_property`, linked to accounts.

    Adds `primary_company_id` (the primary company's HubSpot id, from `associatedcompanyid`)
    and `primary_company_account_id` (that company's Gather account ID; null when there is no
    company or it has no account ID).
    """

    @classmethod
    @override
    def record_fields(cls, hubspot_id_field: str) -> dict[str, JsonSchema]:
        """The CRM base fields plus the links to the primary company."""
        fields = super().record_fields(hubspot_id_field)
        fields["primary_company_id"] = _NULLABLE_STRING
        fields["primary_company_account_id"] = _NULLABLE_STRING
        return fields

    @override
    def start_run(self, saved: StreamState) -> None:
        """Nothing listed in this process yet (`after_listing_all` says when it was)."""
        self._listed_here = False

    @override
    def prepare_page(self, results: list[HubSpotObject]) -> None:
        """Look up, in batches, the account IDs of this page's companies not yet known."""
        companies = (
            normalize_id((r.get("properties") or {}).get("associatedcompanyid")) for r in results
        )
        self.accounts.resolve(c for c in companies if c is not None)

    @override
    def sweeps(self, saved: StreamState, now: dt.datetime) -> bool:
        """`relink_sweep`: list every contact at most once per `relink_sweep_interval`, so
        a contact re-pointed to another company is re-linked although HubSpot may not change
        its modified date (remembered in STATE: every runner honours the interval)."""
        if not self.config.get("relink_sweep", True):
            return False
        interval = self.config.get("relink_sweep_interval")
        seconds = DEFAULT_RELINK_SWEEP_INTERVAL_S if interval is None else int(interval)
        if saved.listed_at is None:
            return True
        return now - parse_datetime(saved.listed_at) >= dt.timedelta(seconds=seconds)

    @override
    def before_listing_all(self) -> None:
        """Every contact is about to be read: cache every company's account ID first."""
        self.accounts.prime()

    @override
    def after_listing_all(self, *, from_start: bool) -> None:
        """Every contact was just read with its link: an account ID changed before the index
        was built is in all of them (`links_at`, with the search lag's allowance for HubSpot's
        clock). A listing resumed from an earlier process keeps the previous moment."""
        self._listed_here = from_start
        if from_start:
            self.saved.links_at = format_datetime(self.accounts.created_at - self.search_lag())

    @override
    def plan_relink(self, run: Run) -> None:
        """Take the companies the account-feeding stream noted (from its STATE, atomically
        with this stream's): search their contacts, or list every contact when there are
        many. Nothing when every contact was just read, or on a first read."""
        feeder = self.plugin.account_feeder()
        if feeder is None:
            return
        noted = feeder.saved
        ids, relist = noted.relink, noted.relink_all
        noted.relink, noted.relink_all = [], False
        if (run.lists_everything and self._listed_here) or self.saved.bookmark is None:
            # Every contact was just read with its current link (or never was). A listing
            # resumed from a killed process read its first pages with older links: the noted
            # companies' contacts are searched as after any incremental read.
            return
        if relist:
            run.relink_list = True
        elif ids:
            run.relink_ids = sorted(set(ids), key=id_order)
            run.relink_at = 0

    @override
    def finish_record(self, record: dict[str, Any], properties: Mapping[str, Any]) -> None:
        """Attach the primary company's id and account ID."""
        company = normalize_id(properties.get("associatedcompanyid"))
        record["primary_company_id"] = company
        record["primary_company_account_id"] = self.accounts.account_id(company)
