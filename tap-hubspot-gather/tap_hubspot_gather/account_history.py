"""When a company's account ID last changed: HubSpot's property history, read only when asked.

Polling sees that a company was modified, never what changed. Of all its properties only the
account ID moves its contacts' `primary_company_account_id`, so before handing a modified
company to the contacts stream (which re-reads its contacts), the tap asks HubSpot when that
one property last changed (`propertiesWithHistory`, newest entry first) and hands over only
companies whose account ID changed after the contacts last read it. 50 companies per batch
read: HubSpot serves at most 50 records per request with history ("Usage of this parameter
will reduce the maximum number of contacts that can be read by a single request", spec;
observed 50, https://github.com/HubSpot/hubspot-api-python/issues/143).
"""

from __future__ import annotations

from collections.abc import Sequence

from tap_hubspot_gather.batch_read import BatchReader
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.properties import normalize_datetime

HISTORY_BATCH_SIZE = 50
# `last_changes` for a company whose property never held a value.
NEVER = ""


class AccountIdHistory:
    """Reads when the account-ID property of companies last changed."""

    def __init__(self, client: HubSpotClient, account_id_property: str) -> None:
        self.account_id_property = account_id_property
        self.reader = BatchReader(
            client,
            "companies",
            [],
            history=[account_id_property],
            size=HISTORY_BATCH_SIZE,
            kind="account_history",
        )

    def last_changes(self, company_ids: Sequence[str]) -> dict[str, str]:
        """Company id -> when its account ID last changed (ISO, or `NEVER`). A company HubSpot
        did not answer for (archived or merged away since it was listed) is left out: the
        caller treats it as changed."""
        asked = set(company_ids)
        found: dict[str, str] = {}
        for company in self.reader.read(company_ids):
            company_id = str(company["id"])
            if company_id not in asked:
                continue  # a survivor answering for a merged-away id: that one is "changed"
            history = company.get("propertiesWithHistory") or {}
            found[company_id] = _newest(history.get(self.account_id_property) or [])
        return found


def _newest(entries: list[dict[str, object]]) -> str:
    """The newest entry's moment (HubSpot lists newest first; the order is not relied on)."""
    stamps = [normalize_datetime(str(e["timestamp"])) for e in entries if e.get("timestamp")]
    return max(stamps, default=NEVER)
