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
from tap_hubspot_gather.accounts import COMPANY_ID, AccountIndex
from tap_hubspot_gather.check.idstore import IdStore, ObjectType, ScannedRecord
from tap_hubspot_gather.check.report import (
    BUILTIN_ID,
    SETTING,
    LinkCheck,
    ObjectCheck,
    PropertyCheck,
    Uniqueness,
)
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.errors import HubSpotError
from tap_hubspot_gather.paging import DEFAULT_MAX_URL_LENGTH, ListPager, Page
from tap_hubspot_gather.properties import PropertyDef

# The contact property naming the primary company's HubSpot id (what the tap links with).
PRIMARY_COMPANY_PROPERTY = "associatedcompanyid"
EMAIL = "email"
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
    """Checks the ID properties and scans companies and contacts into an `IdStore`."""

    def __init__(
        self,
        client: HubSpotClient,
        definitions: Mapping[str, Sequence[PropertyDef]],
        store: IdStore,
        *,
        account_id_property: str,
        user_id_property: str,
        max_url_length: int = DEFAULT_MAX_URL_LENGTH,
        sample_size: int = 10,
        max_duplicate_groups: int = 20,
        progress: Progress | None = None,
        candidates: Mapping[ObjectType, Sequence[str]] | None = None,
    ) -> None:
        self.client = client
        self.definitions = {k: {d.name: d for d in v} for k, v in definitions.items()}
        self.store = store
        self.id_property = {"companies": account_id_property, "contacts": user_id_property}
        self.max_url_length = max_url_length
        self.sample_size = sample_size
        self.max_duplicate_groups = max_duplicate_groups
        self.progress = progress or Progress(enabled=False)
        # `--suggest`: candidate ID properties read in the same scan, values to the store.
        self.candidates: dict[ObjectType, list[str]] = {
            k: list(v) for k, v in (candidates or {}).items()
        }

    # Property definitions -----------------------------------------------------------------

    def property_check(self, object_type: ObjectType) -> PropertyCheck:
        """Whether the configured ID property exists, its type and how uniqueness is kept."""
        name = self.id_property[object_type]
        setting = SETTING[object_type]
        if name == BUILTIN_ID[object_type]:
            # Not a property: the record's own id (`hs_object_id`), unique by construction.
            return PropertyCheck(setting, name, True, None, None, "hubspot_id")
        definition = self.definitions.get(object_type, {}).get(name)
        if definition is None:
            return PropertyCheck(setting, name, False, None, None, "unknown")
        uniqueness: Uniqueness = "enforced" if definition.has_unique_value else "not_enforced"
        if object_type == "contacts" and name == EMAIL and not definition.has_unique_value:
            uniqueness = "email"
        return PropertyCheck(
            setting, name, True, definition.type, definition.has_unique_value, uniqueness
        )

    def total(self, object_type: ObjectType) -> int | None:
        """HubSpot's count of active records (one search request), or None if unavailable."""
        try:
            body = self.client.post(
                f"/crm/v3/objects/{object_type}/search",
                {"limit": 1, "properties": ["hs_object_id"], "filterGroups": []},
                search=True,
                kind="check_total",
            )
        except HubSpotError:
            return None  # only used for progress and for companyId counts; the scan is exact
        total = body.get("total") if isinstance(body, dict) else None
        return int(total) if isinstance(total, int) else None

    # Scans --------------------------------------------------------------------------------

    def check_companies(self) -> ObjectCheck:
        """Companies: the ID property, and (unless it is `companyId`) every record's value."""
        prop = self.property_check("companies")
        check = ObjectCheck("companies", prop)
        if prop.uniqueness == "hubspot_id":
            # Every company has its own HubSpot id: nothing can be missing or shared.
            check.duplicates_note = "companyId is HubSpot's own company id: unique by construction"
            if self.candidates.get("companies"):
                self._scan("companies", [], check)  # --suggest needs the candidates' values
                return check
            total = self.total("companies")
            if total is None:  # search unavailable: list them instead (exact, just slower)
                self._scan("companies", [], check)
                return check
            check.total = check.with_id = total
            self.progress.note(f"companies: {total:,} records; {check.duplicates_note}")
            return check
        if not prop.exists:
            check.duplicates_note = "not scanned: the ID property does not exist"
            if self.candidates.get("companies"):
                self._scan("companies", [], check)
                check.duplicates = None
                check.missing_id, check.missing_sample = 0, []
                check.with_id = 0
            return check
        self._scan("companies", [prop.name], check)
        return check

    def check_contacts(self, companies: ObjectCheck) -> ObjectCheck:
        """Contacts: ID values (as for companies) plus the link to an account."""
        prop = self.property_check("contacts")
        check = ObjectCheck("contacts", prop)
        wanted = [PRIMARY_COMPANY_PROPERTY]
        if prop.exists and prop.uniqueness != "hubspot_id":
            wanted.insert(0, prop.name)
        self._scan("contacts", wanted, check)
        if prop.uniqueness == "hubspot_id":
            check.duplicates = None
            check.duplicates_note = (
                "vid is HubSpot's own contact id: unique by construction, "
                "not checked for duplicates"
            )
        elif not prop.exists:
            check.duplicates = None
            check.total = self.store.count("contacts")
            check.with_id = check.missing_id = 0
            check.missing_sample = []
            check.duplicates_note = "not scanned: the ID property does not exist"
        check.links = self._links(companies)
        return check

    def _scan(self, object_type: ObjectType, properties: list[str], check: ObjectCheck) -> None:
        name = check.id_property.name
        builtin = check.id_property.uniqueness == "hubspot_id"
        lower = object_type == "contacts" and name == EMAIL  # as the tap keys emails
        extra = [c for c in self.candidates.get(object_type, []) if c not in properties]
        pager = ListPager(
            self.client, object_type, properties + extra, max_url_length=self.max_url_length
        )
        self.progress.start(object_type, self.total(object_type))
        for page in pager.pages():
            rows = [self._row(obj, name, builtin, lower) for obj in page.results]
            self.store.add(object_type, rows)
            if self.candidates.get(object_type):
                self.store.add_candidates(object_type, self._candidate_values(object_type, page))
            if object_type == "companies":
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

    def check_archived(self, check: ObjectCheck) -> None:
        """List the archived records' IDs (one pass) and count those a live record holds.

        Only for an ID property of the portal's own: HubSpot's ids are never reused.
        """
        prop = check.id_property
        if not prop.exists or prop.uniqueness == "hubspot_id":
            return
        object_type: ObjectType = "companies" if check.object_type == "companies" else "contacts"
        lower = object_type == "contacts" and prop.name == EMAIL
        pager = ListPager(
            self.client,
            object_type,
            [prop.name],
            archived=True,
            max_url_length=self.max_url_length,
        )
        for page in pager.pages():
            rows = [self._row(obj, prop.name, False, lower) for obj in page.results]
            self.store.add_archived(object_type, rows)
        (
            check.archived,
            check.archived_held_by_live,
            check.archived_held_sample,
        ) = self.store.archived_stats(object_type, self.sample_size)

    def _candidate_values(self, object_type: ObjectType, page: Page) -> list[tuple[str, str]]:
        """Normalized values of the candidate properties on one page (emails lower-cased)."""
        found: list[tuple[str, str]] = []
        for obj in page.results:
            properties = obj.get("properties") or {}
            for name in self.candidates[object_type]:
                value = normalize_id(properties.get(name), lower=name == EMAIL)
                if value is not None:
                    found.append((name, value))
        return found

    @staticmethod
    def _row(obj: Mapping[str, Any], name: str, builtin: bool, lower: bool) -> ScannedRecord:
        properties = obj.get("properties") or {}
        hubspot_id = str(obj["id"])
        raw = properties.get(name)
        value = hubspot_id if builtin else normalize_id(raw, lower=lower)
        company = normalize_id(properties.get(PRIMARY_COMPANY_PROPERTY))
        return ScannedRecord(
            hubspot_id, value, None if raw is None else str(raw), company_id=company
        )

    def _links(self, companies: ObjectCheck) -> LinkCheck:
        account_property = companies.id_property.name
        links = LinkCheck(account_property)
        links.without_company, links.without_company_sample = self.store.without_company(
            self.sample_size
        )
        if account_property == COMPANY_ID:
            return links  # the account ID is the company id itself: never missing
        if not companies.id_property.exists:
            links.company_without_account_id = None
            return links
        self._resolve_unscanned_companies(account_property)
        (
            links.company_without_account_id,
            links.company_without_account_id_sample,
            links.companies_without_account_id_sample,
        ) = self.store.linked_without_account(self.sample_size)
        return links

    def _resolve_unscanned_companies(self, account_property: str) -> None:
        """Companies created after the companies scan: read their account IDs by id."""
        for batch in self.store.unknown_companies():
            index = AccountIndex(self.client, account_property)
            index.resolve(batch)
            self.store.add_company_accounts((c, index.account_id(c)) for c in batch)
