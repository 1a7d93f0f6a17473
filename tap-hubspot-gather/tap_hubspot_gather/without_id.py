"""`<stream>_without_id`: the HubSpot records of a stream whose ID property is empty.

Such a record cannot be a RECORD of its own stream: its key property would be null, which the
Singer spec does not allow and SQL targets refuse (a primary key column is NOT NULL). It still
matters: when its ID was cleared, the Gather record it had before must be retired. So the tap
emits it, once per read, on a stream of its own, keyed by the portal and HubSpot's record id
(never null): `{"portal_id", "id", "stream", "id_property", "archived", "updatedAt"}`.
target-gather maps `companies_without_id` and `contacts_without_id` to the retire signal of
`companies` and `contacts`; any other target stores them as a table listing the records to
fix. A stream renamed by stream maps gets `<new name>_without_id`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from singer_sdk import singerlib as singer
from singer_sdk.mapper import RemoveRecordTransform

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from singer_sdk.mapper import StreamMap

SUFFIX = "_without_id"
KEY_PROPERTIES = ("portal_id", "id")
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "portal_id": {"type": ["string"]},
        "id": {"type": ["string"]},
        "stream": {"type": ["string"]},
        "id_property": {"type": ["string"]},
        "archived": {"type": ["boolean", "null"]},
        "updatedAt": {"type": ["string", "null"], "format": "date-time"},
    },
}


class WithoutIdWriter:
    """Writes one stream's records without an ID to its `_without_id` stream(s)."""

    def __init__(self, write_message: Callable[[singer.Message], None]) -> None:
        self.write_message = write_message
        self._announced: set[str] = set()

    def write(self, stream_maps: Iterable[StreamMap], record: dict[str, Any]) -> None:
        """One RECORD per output of the stream (its SCHEMA first, once per run); `record`
        holds every field of `SCHEMA` but `stream`."""
        extracted = dt.datetime.now(dt.timezone.utc)
        for stream_map in stream_maps:
            if isinstance(stream_map, RemoveRecordTransform):
                continue
            name = f"{stream_map.stream_alias}{SUFFIX}"
            if name not in self._announced:
                self._announced.add(name)
                self.write_message(
                    singer.SchemaMessage(
                        stream=name, schema=SCHEMA, key_properties=list(KEY_PROPERTIES)
                    )
                )
            self.write_message(
                singer.RecordMessage(
                    stream=name,
                    record={**record, "stream": stream_map.stream_alias},
                    time_extracted=extracted,
                )
            )
