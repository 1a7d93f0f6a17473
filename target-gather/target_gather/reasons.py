"""Why a Gather record is left behind, and what became of it: closed sets, not bare strings.

The values are what the left-behind file, the rejects file and the run summary print.
"""

from __future__ import annotations

from enum import Enum


class LeftReason(str, Enum):
    """What happened in the source to the record that held a Gather id."""

    KEY_CHANGED = "key_changed"  # its ID value changed: the old Gather id is left behind
    ID_CLEARED = "id_cleared"  # its ID value was emptied
    MERGED = "merged"  # it was absorbed by a merge (listed in the survivor's merged ids)
    ARCHIVED = "archived"  # it arrived archived (`_sdc_deleted_at`)
    NOT_IN_SOURCE = "not_in_source"  # a complete pass did not include it

    def __str__(self) -> str:
        return self.value


# Reasons that retire the record itself (not only one of its ids): its account's users unlink.
RETIRING = frozenset({LeftReason.ARCHIVED, LeftReason.NOT_IN_SOURCE})


class LeftAction(str, Enum):
    """What the target did with a left-behind Gather record."""

    REPORTED = "reported"  # keep mode: listed, never deleted
    DELETED = "deleted"  # mirror mode: Gather acknowledged the DELETE
    WITHHELD = "withheld"  # mirror mode: above delete_cap_percent, not deleted (run failed)

    def __str__(self) -> str:
        return self.value
