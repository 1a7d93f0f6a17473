"""Company id -> Gather account ID, so contacts can name their primary company's account.

Contacts carry `associatedcompanyid` (their primary company's HubSpot id) for free. When the
account ID *is* the company id (`account_id_property = companyId`) no request is needed.
Otherwise the value comes from the companies stream's own records (it syncs first and feeds
this index) and, for companies it did not emit (incremental runs), from batched reads of just
that one property, 100 companies per call, cached for the rest of the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from hubspot_gather_common.ids import normalize_id
from tap_hubspot_gather.batch_read import BatchReader
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.paging import ListPager

COMPANY_ID = "companyId"
# Bound on cached companies (~100 bytes each); the oldest entries are dropped beyond it.
DEFAULT_MAX_ENTRIES = 500_000


class AccountIndex:
    """Caches each company's normalized account ID (or None when it has none)."""

    def __init__(
        self,
        client: HubSpotClient,
        account_id_property: str,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self.client = client
        self.account_id_property = account_id_property
        self.max_entries = max_entries
        self._cache: dict[str, str | None] = {}
        # That one property of the companies contacts name, 100 per request.
        self._reader = BatchReader(
            client, "companies", [account_id_property], kind="account_lookup"
        )
        self.complete = False  # every company's account ID is cached (a full list ran)
        # Every cached value was read after this moment (the index is built on first use).
        self.created_at = dt.datetime.now(dt.timezone.utc)

    @property
    def uses_company_id(self) -> bool:
        """Whether the account ID is HubSpot's company id (nothing to look up)."""
        return self.account_id_property == COMPANY_ID

    def remember(self, company_id: str, account_id: str | None) -> None:
        """Record a company's account ID seen elsewhere (the companies stream)."""
        if self.uses_company_id:
            return
        cache = self._cache
        if company_id not in cache and len(cache) >= self.max_entries:
            del cache[next(iter(cache))]
            self.complete = False
        cache[company_id] = account_id

    def prime(self) -> None:
        """Cache every company's account ID with the list endpoint (that one property, 100
        companies per request): before reading every contact, cheaper than batch reads of
        the few unknown companies each page of contacts brings."""
        if self.uses_company_id or self.complete:
            return
        pager = ListPager(self.client, "companies", [self.account_id_property])
        for page in pager.pages():
            for company in page.results:
                value = (company.get("properties") or {}).get(self.account_id_property)
                self.remember(str(company["id"]), normalize_id(value))
        self.complete = True

    def resolve(self, company_ids: Iterable[str]) -> None:
        """Make sure every given company is cached, reading unknown ones in batches."""
        if self.uses_company_id:
            return
        missing = sorted({c for c in company_ids if c not in self._cache})
        found = {
            str(item["id"]): (item.get("properties") or {}).get(self.account_id_property)
            for item in self._reader.read(missing)
        }
        for company_id in missing:  # companies HubSpot did not return have no account ID
            self.remember(company_id, normalize_id(found.get(company_id)))

    @property
    def batch_reads(self) -> int:
        """Batch requests `resolve` made."""
        return self._reader.requests

    def account_id(self, company_id: str | None) -> str | None:
        """The company's account ID, if known (call `resolve` first)."""
        if company_id is None:
            return None
        if self.uses_company_id:
            return company_id
        return self._cache.get(company_id)
