"""The mirror-mode delete cap: one run deletes at most a share of a source's records.

A run that would wipe a portal (an empty or wrong portal, a selection mistake, a stream map
filtering too much) must delete nothing. Each source (stream and portal) may delete at most
`delete_cap_percent` of the records it holds in Gather in one run; above that the run deletes
nothing more, reports what it would have deleted, and fails, until the user raises the cap or
confirms these exact deletes once with the code the failure names (`confirm_deletes`). The
code is a digest of the deletes, so leaving it set confirms nothing else.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CODE_CHARS = 12  # hex digits of the confirmation code


@dataclass(frozen=True)
class SourceKey:
    """One source's records in one Gather model."""

    model: str
    stream: str
    origin: str

    def describe(self) -> str:
        """`stream 'contacts' of portal 123 (Gather model user)` for messages."""
        portal = f" of portal {self.origin}" if self.origin else ""
        return f"stream {self.stream!r}{portal} (Gather model {self.model})"


@dataclass(frozen=True)
class Withheld:
    """Deletes above the cap: how many, of how many records, and the code confirming them."""

    source: SourceKey
    count: int
    base: int
    allowed: int
    code: str


def confirmation_code(source: SourceKey, ids: Sequence[str]) -> str:
    """The code that confirms exactly these deletes of this source."""
    text = "\x00".join([source.model, source.stream, source.origin, *sorted(ids)])
    return hashlib.sha256(text.encode()).hexdigest()[:CODE_CHARS]


class DeleteCap:
    """Counts each source's deletes in this run against `percent` of its records."""

    def __init__(self, percent: float, confirm: str) -> None:
        self.percent = percent
        self.confirm = confirm.strip()
        self.confirmed: list[str] = []  # codes used this run (logged)
        self._deleted: Counter[SourceKey] = Counter()
        self._base: dict[SourceKey, int] = {}

    def check(
        self, source: SourceKey, ids: Sequence[str], base: Callable[[], int]
    ) -> Withheld | None:
        """None when these deletes fit the cap (or are confirmed), else what is withheld.

        `base` counts the source's records in Gather; it is read once per source and run,
        before its first delete, so it is the count the run started from.
        """
        if not ids:
            return None
        if source not in self._base:
            self._base[source] = base()
        total = self._base[source]
        allowed = int(total * self.percent / 100)
        if self._deleted[source] + len(ids) <= allowed:
            return None
        code = confirmation_code(source, ids)
        if self.confirm and code == self.confirm:
            self.confirmed.append(code)
            return None
        return Withheld(source, len(ids) + self._deleted[source], total, allowed, code)

    def spent(self, source: SourceKey, count: int) -> None:
        """Count deletes Gather acknowledged."""
        self._deleted[source] += count
