"""The app's journal: an append-only sequence of files of events, each named by an offset.

HubSpot's journal is "historical event data stored in chronological order", kept for "the past
3 days" (https://developers.hubspot.com/docs/api-reference/latest/webhooks-journal/journal-entries/guide).
How events are cut into files is not documented; the emulator's choices:

- EMULATOR CHOICE (publication): events collect in an open file per portal; it is published
  (given its uuid offset) at the next journal read, or as soon as it holds `file_max_events`.
  So a change made before a read is in that read, unless the visibility delay holds it back.
- EMULATOR CHOICE (portals): a file holds the events of one portal only; the local journal
  lists the files of its portal, the global journal all of them.
- A published file is visible `visibility_delay_s` after its publication; files become
  visible in offset order, never out of it.
- Files older than the retention are removed; their offsets are remembered as expired (404).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulators.hubspot.journal_settings import JournalSettings
from emulators.hubspot.timeutil import iso_ms, now_ms


@dataclass
class JournalFile:
    """One published file: its offset, its portal and the events it holds."""

    seq: int
    offset: str
    portal_id: int
    events: list[dict[str, Any]]
    published_ms: int

    def body(self) -> dict[str, Any]:
        """The file's JSON document, as fetched from its URL: `{offset, journalEvents,
        publishedAt}` (the shape community clients read from live HubSpot)."""
        return {
            "offset": self.offset,
            "journalEvents": self.events,
            "publishedAt": iso_ms(self.published_ms),
        }


class Journal:
    """Published files (oldest first), the open files per portal, and expired offsets."""

    def __init__(self, clock: Callable[[], int] = now_ms) -> None:
        self.clock = clock
        self.files: list[JournalFile] = []
        self.by_offset: dict[str, JournalFile] = {}
        self.expired: set[str] = set()
        self.pending: dict[int, list[dict[str, Any]]] = {}
        self._seq = 0
        self._shuffles = 0

    def append(self, portal_id: int, event: dict[str, Any], settings: JournalSettings) -> None:
        """Add an event to its portal's open file; publish the file once it is full."""
        events = self.pending.setdefault(portal_id, [])
        events.append(event)
        if len(events) >= settings.file_max_events:
            self._publish(portal_id, settings)

    def refresh(self, settings: JournalSettings) -> None:
        """What a journal read does first: publish the open files, drop expired ones."""
        for portal_id in list(self.pending):
            self._publish(portal_id, settings)
        horizon = self.clock() - settings.retention_ms
        keep = 0
        while keep < len(self.files) and self.files[keep].published_ms < horizon:
            keep += 1
        for gone in self.files[:keep]:
            self.expired.add(gone.offset)
            del self.by_offset[gone.offset]
        del self.files[:keep]

    def _publish(self, portal_id: int, settings: JournalSettings) -> None:
        events = self.pending.pop(portal_id, [])
        if not events:
            return
        if settings.duplicate_events:
            events = events + [dict(e) for e in events]
        if settings.shuffle_events:
            self._shuffles += 1
            random.Random(settings.shuffle_seed * 1_000_003 + self._shuffles).shuffle(events)
        self._seq += 1
        published = JournalFile(self._seq, str(uuid.uuid4()), portal_id, events, self.clock())
        self.files.append(published)
        self.by_offset[published.offset] = published

    def visible(self, settings: JournalSettings, portal_id: int | None) -> list[JournalFile]:
        """The files a reader sees now (oldest first), of one portal or of all."""
        cutoff = self.clock() - int(settings.visibility_delay_s * 1000)
        shown: list[JournalFile] = []
        for journal_file in self.files:
            if journal_file.published_ms > cutoff:
                break
            if portal_id is None or journal_file.portal_id == portal_id:
                shown.append(journal_file)
        return shown

    def pending_count(self) -> int:
        """Events written but not yet published."""
        return sum(len(events) for events in self.pending.values())

    def time_travel(self, shift_ms: int) -> None:
        """Make every file `shift_ms` older (the admin time travel)."""
        for journal_file in self.files:
            journal_file.published_ms -= shift_ms
