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

from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.properties import normalize_datetime

HISTORY_BATCH_SIZE = 50
# `last_changes` for a company whose property never held a value.
NEVER = ""


class AccountIdHistory:
    """Reads when the account-ID property of companies last changed."""

    def __init__(self, client: HubSpotClient, account_id_property: str) -> None:
        self.client = client
        self.account_id_property = account_id_property
        self.requests = 0

    def last_changes(self, company_ids: Sequence[str]) -> dict[str, str]:
        """Company id -> when its account ID last changed (ISO, or `NEVER`). A company HubSpot
        did not answer for (archived or merged away since it was listed) is left out: the
        caller treats it as changed."""
        prop = self.account_id_property
        found: dict[str, str] = {}
        for start in range(0, len(company_ids), HISTORY_BATCH_SIZE):
            chunk = company_ids[start : start + HISTORY_BATCH_SIZE]
            body = self.client.post(
                self.client.paths.batch_read("companies"),
                {
                    "inputs": [{"id": c} for c in chunk],
                    "properties": [],
                    "propertiesWithHistory": [prop],
                },
                kind="account_history",
            )
            self.requests += 1
            asked = set(chunk)
            for company in body.get("results") or []:
                company_id = str(company["id"])
                if company_id not in asked:
                    continue  # a survivor answering for a merged-away id: that one is "changed"
                entries = (company.get("propertiesWithHistory") or {}).get(prop) or []
                found[company_id] = _newest(entries)
        return found


def _newest(entries: list[dict[str, object]]) -> str:
    """The newest entry's moment (HubSpot lists newest first; the order is not relied on)."""
    stamps = [normalize_datetime(str(e["timestamp"])) for e in entries if e.get("timestamp")]
    return max(stamps, default=NEVER)
