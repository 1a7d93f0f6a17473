"""Journal events: what each change of the data model writes for the app's subscriptions.

No HubSpot page defines the journal file's events; the field set is the one community clients
read from the live API (`type`, `portalId`, `occurredAt`, `action`, `objectTypeId`, `objectId`,
`propertyChanges`, `mergedObjectIds`, `associatedObjectId`, `associatedObjectTypeId`,
`associationType`), with the v3 webhook meanings for merges and associations
(https://developers.hubspot.com/changelog/new-subscription-types-for-webhooks). The emulator's
choices where HubSpot is silent, each marked EMULATOR CHOICE below:

- one event per change however many subscriptions match it; `propertyChanges` holds the union
  of the properties the matching subscriptions want;
- `type` is "crmObject" for every CRM event, association and privacy events included;
- `occurredAt` is an ISO 8601 string (UTC, milliseconds);
- CREATE carries `propertyChanges` (the values the record was created with, filtered like an
  UPDATE's); UPDATE is written only when a value actually changed, never for the modified
  dates alone (so the admin `touch` writes nothing);
- MERGE: `objectId` is the record the merge leaves (the new record of a new-id merge),
  `primaryObjectId` the old primary, `mergedObjectIds` the other records, `newObjectId` only
  on a new-id merge; with `merge_deletes`, a DELETE follows for each id that disappeared (both
  old ids of a new-id merge); then the association events of what the merge moved (the
  record it leaves gains associations, the contacts of merged companies are re-linked), none
  for the absorbed records;
- association events carry both naming styles seen in the wild (`associatedObject*` +
  `associationType`, and `from*`/`to*` + `associationTypeId`, `associationCategory`,
  `isPrimary`, `associationRemoved`), one event per association type (1/279 contact to company,
  2/280 company to contact); a contact whose primary company moves because its company was
  archived, merged or deleted gets them too, plus an UPDATE of `associatedcompanyid` when the
  emulator's `association_changes_touch_contacts` bumps its modified date;
- a privacy (GDPR) delete writes GDPR_DELETE (GDPR_PRIVACY_DELETION subscriptions) and then
  DELETE (OBJECT subscriptions), as v3 sent both
  (https://developers.hubspot.com/changelog/now-live-webhooks-now-support-privacy-compliant-contact-deletions);
  a permanent delete that is not a privacy request (the admin purge, archives past their
  retention) writes DELETE only;
- subscription filters apply to CREATE and UPDATE only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emulators.hubspot.changes import Change
from emulators.hubspot.journal_settings import JournalSettings
from emulators.hubspot.subscription_model import (
    COMPANY,
    CONTACT,
    OBJECT_TYPE_IDS,
    Subscription,
)
from emulators.hubspot.timeutil import iso_ms

EVENT_TYPE = "crmObject"
# Association type ids and names per direction (HubSpot-defined; see `render.association_types`).
_ASSOCIATION_NAMES = {CONTACT: "CONTACT_TO_COMPANY", COMPANY: "COMPANY_TO_CONTACT"}
_COMPANY_SIDE_TYPE_ID = {1: 2, 279: 280}  # contact->company type id -> company->contact
_PRIMARY_TYPE_IDS = frozenset({1, 2})


def journal_events(
    change: Change,
    subscriptions: Sequence[Subscription],
    portal_id: int,
    settings: JournalSettings,
) -> list[dict[str, Any]]:
    """The events one change writes for these subscriptions (of its portal)."""
    type_id = OBJECT_TYPE_IDS.get(change.object_type)
    if type_id is None or not subscriptions:
        return []
    occurred = iso_ms(change.occurred_ms)

    def event(action: str, object_type_id: str, object_id: int, **extra: Any) -> dict[str, Any]:
        return {
            "type": EVENT_TYPE,
            "portalId": portal_id,
            "occurredAt": occurred,
            "action": action,
            "objectTypeId": object_type_id,
            "objectId": object_id,
            **extra,
        }

    def wanting(kind: str, action: str, object_type_id: str, *ids: int) -> list[Subscription]:
        return [
            s
            for s in subscriptions
            if s.subscription_type == kind and s.wants(action, object_type_id, *ids)
        ]

    kind = change.kind
    if kind == "PURGE":
        return _purge_events(change, type_id, wanting, event)
    if kind == "MERGE":
        return _merge_events(change, type_id, settings, wanting, event)
    if kind == "ASSOCIATION":
        return _association_events(change, wanting, event)
    matching = wanting("OBJECT", kind, type_id, change.object_id)
    if kind in ("CREATE", "UPDATE"):
        return _property_events(change, matching, event)
    return [event(kind, type_id, change.object_id)] if matching else []  # DELETE, RESTORE


def _purge_events(change: Change, type_id: str, wanting: Any, event: Any) -> list[Any]:
    """GDPR_DELETE (privacy deletes only), then DELETE."""
    events = []
    if change.privacy and wanting(
        "GDPR_PRIVACY_DELETION", "GDPR_DELETE", type_id, change.object_id
    ):
        events.append(event("GDPR_DELETE", type_id, change.object_id))
    if wanting("OBJECT", "DELETE", type_id, change.object_id):
        events.append(event("DELETE", type_id, change.object_id))
    return events


def _property_events(change: Change, matching: list[Subscription], event: Any) -> list[Any]:
    """CREATE / UPDATE for the subscriptions whose properties and filters it meets."""
    if change.kind == "UPDATE":
        matching = [s for s in matching if any(s.wants_property(n) for n in change.properties)]
    matching = [s for s in matching if s.passes_filters(change.values)]
    if not matching:
        return []
    changes = {
        name: value
        for name, value in change.properties.items()
        if any(s.wants_property(name) for s in matching)
    }
    return [
        event(
            change.kind,
            OBJECT_TYPE_IDS[change.object_type],
            change.object_id,
            propertyChanges=changes,
        )
    ]


def _merge_events(
    change: Change, type_id: str, settings: JournalSettings, wanting: Any, event: Any
) -> list[Any]:
    """MERGE, and with `merge_deletes` a DELETE per id the merge made disappear."""
    primary = change.primary_id if change.primary_id is not None else change.object_id
    involved = (change.object_id, primary, *change.merged_ids)
    events = []
    if wanting("OBJECT", "MERGE", type_id, *involved):
        extra: dict[str, Any] = {
            "primaryObjectId": primary,
            "mergedObjectIds": list(change.merged_ids),
        }
        if change.new_id:
            extra["newObjectId"] = change.object_id
        events.append(event("MERGE", type_id, change.object_id, **extra))
    if settings.merge_deletes:
        gone = [*((primary,) if change.new_id else ()), *change.merged_ids]
        events.extend(
            event("DELETE", type_id, old)
            for old in gone
            if wanting("OBJECT", "DELETE", type_id, old)
        )
    return events


def _association_events(change: Change, wanting: Any, event: Any) -> list[Any]:
    """ASSOCIATION_ADDED / _REMOVED from the contact's side and from the company's side."""
    contact, company = change.object_id, change.associated_id
    contact_type_id = change.type_id
    if company is None or contact_type_id is None:
        return []
    action = "ASSOCIATION_REMOVED" if change.removed else "ASSOCIATION_ADDED"
    events = []
    for from_type, from_id, to_type, to_id, type_id in (
        (CONTACT, contact, COMPANY, company, contact_type_id),
        (COMPANY, company, CONTACT, contact, _COMPANY_SIDE_TYPE_ID[contact_type_id]),
    ):
        matching = [
            s
            for s in wanting("ASSOCIATION", action, from_type, from_id)
            if not s.associated_object_type_ids or to_type in s.associated_object_type_ids
        ]
        if matching:
            events.append(
                event(
                    action,
                    from_type,
                    from_id,
                    associatedObjectTypeId=to_type,
                    associatedObjectId=to_id,
                    associationType=_ASSOCIATION_NAMES[from_type],
                    fromObjectTypeId=from_type,
                    fromObjectId=from_id,
                    toObjectTypeId=to_type,
                    toObjectId=to_id,
                    associationTypeId=type_id,
                    associationCategory="HUBSPOT_DEFINED",
                    isPrimary=type_id in _PRIMARY_TYPE_IDS,
                    associationRemoved=change.removed,
                )
            )
    return events
