"""Re-reading named records: `POST .../objects/{type}/batch/read`, 100 ids per request.

The journal says which records changed, never what they hold, so journal mode reads each
named record as it is now. Properties travel in the body (no URL length limit). HubSpot
answers an id merged into another record with that survivor, and leaves out ids it does
not have (archived ones unless `archived=true`; purged or privacy-deleted ones ever).
"""

from __future__ import annotations

from collections.abc import Sequence

from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.paging import BATCH_READ_SIZE, HubSpotObject


class BatchReader:
    """Reads records of one object type by id, with the given properties (and, when asked,
    the history of some: HubSpot then serves fewer records per request, `size`)."""

    def __init__(
        self,
        client: HubSpotClient,
        object_type: str,
        properties: Sequence[str],
        *,
        history: Sequence[str] = (),
        size: int = BATCH_READ_SIZE,
        kind: str = "batch_read",
    ) -> None:
        self.client = client
        self.object_type = object_type
        self.properties = list(properties)
        self.history = list(history)
        self.size = size
        self.kind = kind
        self.requests = 0

    def read(self, ids: Sequence[str], *, archived: bool = False) -> list[HubSpotObject]:
        """The records HubSpot has for `ids` (live, or archived), `size` per request."""
        found: list[HubSpotObject] = []  # nothing asked, nothing sent
        for start in range(0, len(ids), self.size):
            chunk = ids[start : start + self.size]
            body = self.client.post(
                self.client.paths.batch_read(self.object_type),
                {
                    "inputs": [{"id": i} for i in chunk],
                    "properties": self.properties,
                    "propertiesWithHistory": self.history,
                },
                params={"archived": "true" if archived else "false"},
                kind=self.kind,
            )
            self.requests += 1
            found.extend(body.get("results") or [])
        return found
