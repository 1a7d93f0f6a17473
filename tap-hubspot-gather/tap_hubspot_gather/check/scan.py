"""Reads the portal the way the sync will, with only the properties the check needs.

Records come from the tap's own `ListPager` (every active record, ascending ids, exact, no
search lag) through the tap's `HubSpotClient` (its request budget, retries and messages), one
page of 100 at a time; each page is normalized with the tap's `normalize_id` and appended to
the `IdStore`. Nothing else is kept in memory, so a portal of 1,000,000 contacts costs the same
memory as one of 100 (10,000 list requests: about 9 minutes at HubSpot's 190 per 10 s).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from hubspot_gather_common.ids import normalize_id
from tap_hubspot_gather.accounts import AccountIndex
from tap_hubspot_gather.check.declared import (
    EMAIL,
    PRIMARY_COMPANY_PROPERTY,
    email_keyed,
    links_to_accounts,
)
from tap_hubspot_gather.check.idstore import IdStore, ScannedRecord
from tap_hubspot_gather.check.report import (
    LinkCheck,
    ObjectCheck,
    PropertyCheck,
    Uniqueness,
)
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.errors import HubSpotError
from tap_hubspot_gather.objects import CrmObject
from tap_hubspot_gather.paging import DEFAULT_MAX_URL_LENGTH, ListPager, Page
from tap_hubspot_gather.properties import PropertyDef

DEFAULT_PROGRESS_INTERVAL_S = 5.0


class Progress:
    """Prints `scanned N of M` lines to stderr at most every `interval_s` seconds."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        interval_s: float = DEFAULT_PROGRESS_INTERVAL_S,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.interval_s = interval_s
        self.enabled = enabled
        self._clock = clock
        self._label = ""
        self._total: int | None = None
        self._done = 0
        self._started = 0.0
        self._last = 0.0

    def note(self, message: str) -> None:
        """One free-form progress line."""
        if self.enabled:
            print(f"check: {message}", file=self.stream, flush=True)

    def start(self, label: str, total: int | None) -> None:
        """A new scan of about `total` records begins."""
        self._label, self._total, self._done = label, total, 0
        self._started = self._last = self._clock()
        about = f" (about {total:,} records)" if total is not None else ""
        self.note(f"{label}: scanning{about}")

    def advance(self, count: int) -> None:
        """`count` more records scanned; print a line if the interval has passed."""
        self._done += count
        now = self._clock()
        if now - self._last >= self.interval_s:
            self._last = now
            self.note(f"{self._label}: {self._status(now)}")

    def finish(self) -> None:
        """The scan is complete."""
        self.note(f"{self._label}: {self._done:,} records scanned")

    def _status(self, now: float) -> str:
        """`N of M scanned (P%), R/s, about S s left` (total and estimate when known)."""
        elapsed = max(now - self._started, 1e-9)
        rate = self._done / elapsed
        text = f"{self._done:,}"
        if self._total:
            text += f" of {self._total:,} scanned ({min(self._done / self._total, 1.0):.0%})"
        else:
            text += " scanned"
        text += f", {rate:,.0f}/s"
        if self._total and rate > 0 and self._done < self._total:
            text += f", about {(self._total - self._done) / rate:,.0f} s left"
        return text


class PortalScanner:
    """Checks each declared object's ID property and scans its records into an `IdStore`."""

    def __init__(
        self,
        client: HubSpotClient,
        definitions: Mapping[str, Sequence[PropertyDef]],
        store: IdStore,
        *,
        id_properties: Mapping[str, str],
        max_url_length: int = DEFAULT_MAX_URL_LENGTH,
        sample_size: int = 10,
        max_duplicate_groups: int = 20,
        progress: Progress | None = None,
        candidates: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.client = client
        self.definitions = {k: {d.name: d for d in v} for k, v in definitions.items()}
        self.store = store
        self.id_property = dict(id_properties)  # object type -> the configured ID property
        self.max_url_length = max_url_length
        self.sample_size = sample_size
        self.max_duplicate_groups = max_duplicate_groups
        self.progress = progress or Progress(enabled=False)
        # `--suggest`: candidate ID properties read in the same scan, values to the store.
        self.candidates: dict[str, list[str]] = {k: list(v) for k, v in (candidates or {}).items()}

    # Property definitions -----------------------------------------------------------------

    def property_check(self, obj: CrmObject) -> PropertyCheck:
        """Whether the configured ID property exists, its type and how uniqueness is kept."""
        name = self.id_property[obj.object_type]
        setting = obj.id_setting
        if name == obj.hubspot_id_field:
            # Not a property: the record's own id (`hs_object_id`), unique by construction.
            return PropertyCheck(setting, name, True, None, None, "hubspot_id")
        definition = self.definitions.get(obj.object_type, {}).get(name)
        if definition is None:
            return PropertyCheck(setting, name, False, None, None, "unknown")
        uniqueness: Uniqueness = "enforced" if definition.has_unique_value else "not_enforced"
        if email_keyed(obj, name) and not definition.has_unique_value:
            uniqueness = "email"
        return PropertyCheck(
            setting, name, True, definition.type, definition.has_unique_value, uniqueness
        )

    def total(self, object_type: str) -> int | None:
        """HubSpot's count of active records (one search request), or None if unavailable."""
        try:
            body = self.client.post(
                self.client.paths.search(object_type),
                {"limit": 1, "properties": ["hs_object_id"], "filterGroups": []},
                search=True,
                kind="check_total",
            )
        except HubSpotError:
            return None  # only used for progress and for built-in id counts; the scan is exact
        total = body.get("total") if isinstance(body, dict) else None
        return int(total) if isinstance(total, int) else None

    # Scans --------------------------------------------------------------------------------

    def check_object(self, obj: CrmObject, accounts: ObjectCheck | None = None) -> ObjectCheck:
        """One object: its ID property and (unless it is HubSpot's own id) every record's
        value; for an object linking to accounts, also its links (`accounts`: the check of
        the object feeding the account index)."""
        prop = self.property_check(obj)
        check = ObjectCheck(obj.object_type, prop)
        links = links_to_accounts(obj) and accounts is not None
        # Objects linking to accounts are always read (for their links), as for `--suggest`.
        read_all = links or bool(self.candidates.get(obj.object_type))
        if prop.uniqueness == "hubspot_id":
            self._check_builtin(obj, check, read_all=read_all, links=links)
        elif not prop.exists:
            check.duplicates_note = "not scanned: the ID property does not exist"
            if read_all:
                self._scan(obj, check)
                check.duplicates = None
                check.missing_id, check.missing_sample = 0, []
                check.with_id = 0
        else:
            self._scan(obj, check)
        if links and accounts is not None:
            check.links = self._links(obj, accounts)
        return check

    def _check_builtin(
        self, obj: CrmObject, check: ObjectCheck, *, read_all: bool, links: bool
    ) -> None:
        """The ID is the record's own HubSpot id: nothing can be missing or shared, so the
        records are only counted (by one search), unless they must be read anyway."""
        object_type = obj.object_type
        own_id = f"{check.id_property.name} is HubSpot's own {obj.noun} id: unique by construction"
        check.duplicates_note = own_id + (", not checked for duplicates" if links else "")
        if read_all:
            self._scan(obj, check)
            return
        total = self.total(object_type)
        if total is None:  # search unavailable: list them instead (exact, just slower)
            self._scan(obj, check)
            return
        check.total = check.with_id = total
        self.progress.note(f"{object_type}: {total:,} records; {check.duplicates_note}")

    def _scan(self, obj: CrmObject, check: ObjectCheck) -> None:
        object_type = obj.object_type
        prop = check.id_property
        name = prop.name
        builtin = prop.uniqueness == "hubspot_id"
        lower = email_keyed(obj, name)  # as the tap keys emails
        properties = [name] if prop.exists and not builtin else []
        if links_to_accounts(obj):
            properties.append(PRIMARY_COMPANY_PROPERTY)
        extra = [c for c in self.candidates.get(object_type, []) if c not in properties]
        pager = ListPager(
            self.client, object_type, properties + extra, max_url_length=self.max_url_length
        )
        self.progress.start(object_type, self.total(object_type))
        for page in pager.pages():
            rows = [self._row(item, name, builtin, lower) for item in page.results]
            self.store.add(object_type, rows)
            if self.candidates.get(object_type):
                self.store.add_candidates(object_type, self._candidate_values(object_type, page))
            if obj.feeds_accounts:
                self.store.add_company_accounts((r.hubspot_id, r.id_value) for r in rows)
            self.progress.advance(len(rows))
        self.progress.finish()
        check.scanned = True
        check.total = self.store.count(object_type)
        check.missing_id, check.missing_sample = self.store.missing(object_type, self.sample_size)
        check.with_id = check.total - check.missing_id
        if not builtin:
            check.duplicates = self.store.duplicates(
                object_type, self.max_duplicate_groups, self.sample_size
            )

    def check_archived(self, obj: CrmObject, check: ObjectCheck) -> None:
        """List the archived records' IDs (one pass) and count those a live record holds.

        Only for an ID property of the portal's own: HubSpot's ids are never reused.
        """
        prop = check.id_property
        if not prop.exists or prop.uniqueness == "hubspot_id":
            return
        object_type = obj.object_type
        lower = email_keyed(obj, prop.name)
        pager = ListPager(
            self.client,
            object_type,
            [prop.name],
            archived=True,
            max_url_length=self.max_url_length,
        )
        for page in pager.pages():
            rows = [self._row(item, prop.name, False, lower) for item in page.results]
            self.store.add_archived(object_type, rows)
        (
            check.archived,
            check.archived_held_by_live,
            check.archived_held_sample,
        ) = self.store.archived_stats(object_type, self.sample_size)

    def _candidate_values(self, object_type: str, page: Page) -> list[tuple[str, str]]:
        """Normalized values of the candidate properties on one page (emails lower-cased)."""
        found: list[tuple[str, str]] = []
        for item in page.results:
            properties = item.get("properties") or {}
            for name in self.candidates[object_type]:
                value = normalize_id(properties.get(name), lower=name == EMAIL)
                if value is not None:
                    found.append((name, value))
        return found

    @staticmethod
    def _row(item: Mapping[str, Any], name: str, builtin: bool, lower: bool) -> ScannedRecord:
        properties = item.get("properties") or {}
        hubspot_id = str(item["id"])
        raw = properties.get(name)
        value = hubspot_id if builtin else normalize_id(raw, lower=lower)
        company = normalize_id(properties.get(PRIMARY_COMPANY_PROPERTY))
        return ScannedRecord(
            hubspot_id, value, None if raw is None else str(raw), company_id=company
        )

    def _links(self, obj: CrmObject, accounts: ObjectCheck) -> LinkCheck:
        account_property = accounts.id_property.name
        links = LinkCheck(account_property)
        object_type = obj.object_type
        links.without_company, links.without_company_sample = self.store.without_company(
            object_type, self.sample_size
        )
        if accounts.id_property.uniqueness == "hubspot_id":
            return links  # the account ID is the company id itself: never missing
        if not accounts.id_property.exists:
            links.company_without_account_id = None
            return links
        self._resolve_unscanned_companies(object_type, account_property)
        (
            links.company_without_account_id,
            links.company_without_account_id_sample,
            links.companies_without_account_id_sample,
        ) = self.store.linked_without_account(object_type, self.sample_size)
        return links

    def _resolve_unscanned_companies(self, object_type: str, account_property: str) -> None:
        """Companies created after the companies scan: read their account IDs by id."""
        for batch in self.store.unknown_companies(object_type):
            index = AccountIndex(self.client, account_property)
            index.resolve(batch)
            self.store.add_company_accounts((c, index.account_id(c)) for c in batch)
