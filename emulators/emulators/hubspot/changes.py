"""What the data model tells its observer after each write: one `Change` per thing that happened.

The `Store` knows nothing about webhooks; it only reports what changed (a record created,
properties updated, archived, restored, merged, permanently deleted, an association added or
removed). The webhooks journal (`emulators.hubspot.webhooks`) turns these into journal events
for the app's subscriptions. Keeping the report plain data keeps the model free of HTTP and of
subscription rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

ChangeKind = Literal[
    "CREATE",
    "UPDATE",
    "DELETE",
    "RESTORE",
    "MERGE",
    "PURGE",
    "ASSOCIATION",
]


@dataclass(frozen=True, slots=True)
class Change:
    """One change of one record (or of one association between a contact and a company).

    - CREATE / UPDATE: `properties` maps each property the write set to its new value (None:
      cleared); `values` is the record's whole current state (for subscription filters).
    - DELETE: archived. RESTORE: back from the archive.
    - MERGE: `object_id` is the record the merge leaves (the new record of a new-id merge, the
      primary of a legacy one), `primary_id` and `merged_ids` the records that went in.
    - PURGE: deleted permanently; `privacy` when it was a GDPR (privacy) delete.
    - ASSOCIATION: `object_id` is the contact, `associated_id` the company, `type_id` HubSpot's
      contact-to-company association type (1 primary, 279 unlabeled), `removed` its direction.
    """

    kind: ChangeKind
    object_type: str
    object_id: int
    occurred_ms: int
    properties: Mapping[str, str | None] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)
    primary_id: int | None = None
    merged_ids: tuple[int, ...] = ()
    new_id: bool = False
    privacy: bool = False
    associated_id: int | None = None
    type_id: int | None = None
    removed: bool = False


ChangeObserver = Callable[[Change], None]
