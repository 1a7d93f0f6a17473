"""The CRM data: records, their properties and associations, merges, archives, permanent
deletes and touches.

One `Store` holds a `Table` per object type. Ids are integers ascending by creation (HubSpot
ids are numeric strings, ascending in creation order). Every write bumps `Store.version`,
which search uses to invalidate its cached result sets, and stamps the record's `written_ms`
(wall clock) so search can hide writes younger than its index lag. Nothing here knows about
HTTP.

Merges follow HubSpot's current behaviour by default: the result is a new record with a new
id, and both old ids resolve to it on reads by id
(https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies);
the legacy behaviour (the primary keeps its id) stays available.

Every write is also reported to `Store.observer` as a `Change` (`emulators.hubspot.changes`):
the webhooks journal listens there.

Each property keeps its history of values (`propertiesWithHistory`,
https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts/guide): a value a
record was created with is its first entry, at the creation moment (kept implicit, so seeding
100,000 records stores no history); every later change appends an entry, a cleared value as "".
EMULATOR CHOICES where HubSpot is silent: the source type is `CRM_UI` for values set through the
emulator (a person editing the record) and `CALCULATED` for HubSpot's computed properties; the
record a new-id merge creates starts the history of every value it holds at the merge.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from emulators.hubspot.changes import Change, ChangeKind, ChangeObserver
from emulators.hubspot.properties import (
    COMPUTED_PROPERTIES,
    MODIFIED_PROPERTY,
    OBJECT_TYPES,
    ObjectType,
    PropertyDef,
    build_properties,
)
from emulators.hubspot.timeutil import iso_ms, now_ms

# One entry of a property's history: (timestamp ms, value, source type); "" is a cleared value.
HistoryEntry = tuple[int, str, str]
SOURCE_SET = "CRM_UI"  # a value set through the emulator (EMULATOR CHOICE, see above)
SOURCE_COMPUTED = "CALCULATED"  # a value HubSpot computes (modified dates, primary company)


class StoreError(Exception):
    """A write the data model refuses; `status` is the HTTP status the admin API answers."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True, eq=False)
class Record:
    """One CRM object. `values` holds only non-empty property values, all strings."""

    id: int
    sid: str
    values: dict[str, str]
    created_ms: int
    updated_ms: int
    created_iso: str
    updated_iso: str
    written_ms: int = 0
    archived_ms: int | None = None
    company_ids: list[int] = field(default_factory=list)
    primary_company_id: int | None = None
    merged_ids: list[int] = field(default_factory=list)
    # Parsed property values for search, dropped on every write.
    parsed: dict[str, Any] = field(default_factory=dict)
    # Property -> its values oldest first, kept from the first change after creation on
    # (`Table.history` adds the implicit creation entry for the others).
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)

    @property
    def archived(self) -> bool:
        """Whether the record sits in the archived listing."""
        return self.archived_ms is not None


class Table:
    """The records of one object type, with their id order and unique-value index."""

    def __init__(self, object_type: ObjectType, extra_properties: int) -> None:
        self.object_type: ObjectType = object_type
        self.properties: dict[str, PropertyDef] = build_properties(object_type, extra_properties)
        self.records: dict[int, Record] = {}
        self.active: list[int] = []
        self.archived: list[int] = []
        self.last_id = 0
        self.unique_names = [p.name for p in self.properties.values() if p.has_unique_value]
        if object_type == "contacts":
            self.unique_names.append("email")  # HubSpot refuses a second contact per email
        self.unique_index: dict[str, dict[str, int]] = {name: {} for name in self.unique_names}
        # Ids absorbed by a new-id merge -> the id of the record they now resolve to.
        self.aliases: dict[int, int] = {}

    def get(self, record_id: int, *, archived: bool | None = False) -> Record | None:
        """The record with this id, if it is in the wanted listing (None = either)."""
        record = self.records.get(record_id)
        if record is None or (archived is not None and record.archived != archived):
            return None
        return record

    def resolve(self, record_id: int, *, archived: bool | None = False) -> Record | None:
        """Like `get`, but an id absorbed by a new-id merge answers the merged record."""
        record = self.get(record_id, archived=archived)
        if record is None and record_id in self.aliases:
            record = self.get(self.aliases[record_id], archived=archived)
        return record

    def find_unique(self, name: str, value: str) -> Record | None:
        """The active record whose unique property `name` holds `value`."""
        index = self.unique_index.get(name)
        if index is None:
            return None
        record_id = index.get(_unique_key(name, value))
        return None if record_id is None else self.records.get(record_id)

    def ids(self, *, archived: bool) -> list[int]:
        """Ascending ids of the active or archived listing (do not mutate)."""
        return self.archived if archived else self.active

    def iter_active(self) -> Iterator[Record]:
        """Active records in id order."""
        records = self.records
        return (records[i] for i in self.active)

    def history(self, record: Record, name: str) -> list[HistoryEntry]:
        """A property's values, newest first (HubSpot's `propertiesWithHistory` order); [] for
        a property that never held a value."""
        kept = record.history.get(name)
        if kept is not None:
            return kept[::-1]
        value = record.values.get(name)
        if value is None:
            return []
        modified = name in (MODIFIED_PROPERTY[self.object_type], "hs_lastmodifieddate")
        at = record.updated_ms if modified else record.created_ms
        return [(at, value, SOURCE_COMPUTED if name in COMPUTED_PROPERTIES else SOURCE_SET)]


def _unique_key(name: str, value: str) -> str:
    return value.lower() if name == "email" else value


def _note_history(
    record: Record, name: str, old: str | None, new: str | None, *, at: int, source: str
) -> None:
    """Append a changed value to a property's history (its creation value first, when the
    history was still implicit)."""
    if old == new:
        return
    entries = record.history.get(name)
    if entries is None:
        entries = [] if old is None else [(record.created_ms, old, source)]
        record.history[name] = entries
    entries.append((at, new or "", source))


# HubSpot's contact-to-company association type ids: every associated company carries the
# unlabeled type, the primary one also the primary type (see `render.association_types`).
PRIMARY_COMPANY_TYPE_ID = 1
UNLABELED_COMPANY_TYPE_ID = 279


def _association_pairs(company_ids: Iterable[int], primary: int | None) -> set[tuple[int, int]]:
    """A contact's company associations as (company id, association type id) pairs."""
    pairs = {(company_id, UNLABELED_COMPANY_TYPE_ID) for company_id in company_ids}
    if primary is not None:
        pairs.add((primary, PRIMARY_COMPANY_TYPE_ID))
    return pairs


class Store:
    """All CRM data of one emulated portal."""

    def __init__(self, extra_properties: int = 0, clock: Callable[[], int] = now_ms) -> None:
        self.clock = clock
        self.version = 0
        self.tables: dict[ObjectType, Table] = {t: Table(t, extra_properties) for t in OBJECT_TYPES}
        # Active contacts associated with each company (the company -> contact direction).
        self.company_contacts: dict[int, set[int]] = {}
        # Emails a GDPR delete found no contact for: HubSpot blocks them from future use.
        self.blocked_emails: set[str] = set()
        # No archive is older than this (None: no archives); a lower bound, so checking
        # retention on every request costs nothing until something may have expired.
        self.oldest_archive_ms: int | None = None
        # Told about every write (the webhooks journal listens here); None: nobody listens.
        self.observer: ChangeObserver | None = None

    def _emit(self, kind: ChangeKind, table: Table, record_id: int, **details: Any) -> None:
        """Report one change to the observer, if any."""
        if self.observer is not None:
            self.observer(Change(kind, table.object_type, record_id, self.clock(), **details))

    def table(self, object_type: str) -> Table:
        """The table of a type, or a 404-worthy error naming the supported ones."""
        if object_type not in self.tables:
            msg = f"unknown object type {object_type!r}: use contacts or companies"
            raise StoreError(msg, status=404)
        return self.tables[object_type]

    # --- writes -------------------------------------------------------------------------

    def create(
        self,
        object_type: str,
        values: Mapping[str, Any],
        *,
        created_ms: int | None = None,
        updated_ms: int | None = None,
        id_gap: int = 1,
        company_ids: Iterable[int] = (),
        primary_company_id: int | None = None,
    ) -> Record:
        """Add a record; ids ascend by `id_gap` (seeded data leaves gaps, like HubSpot)."""
        table = self.table(object_type)
        clean = self._checked_values(table, values, None)
        now = self.clock()
        created = now if created_ms is None else created_ms
        updated = created if updated_ms is None else max(updated_ms, created)
        table.last_id += max(1, id_gap)
        record = Record(
            id=table.last_id,
            sid=str(table.last_id),
            values={},
            created_ms=created,
            updated_ms=updated,
            created_iso=iso_ms(created),
            updated_iso=iso_ms(updated),
            written_ms=now if created_ms is None else 0,
        )
        table.records[record.id] = record
        table.active.append(record.id)
        self._apply_values(table, record, clean)
        record.values["hs_object_id"] = record.sid
        record.values["createdate"] = record.created_iso
        self._stamp_modified(table, record)
        initial = {name: text for name, text in clean.items() if text is not None}
        self._emit("CREATE", table, record.id, properties=initial, values=record.values)
        companies = list(company_ids)
        if primary_company_id is not None or companies:
            self._set_companies(record, companies, primary_company_id, track=False)
        self.version += 1
        return record

    def update(self, object_type: str, record_id: int, values: Mapping[str, Any]) -> Record:
        """Change properties (null or "" clears one) and bump the modified date."""
        table = self.table(object_type)
        record = self._active(table, record_id)
        clean = self._checked_values(table, values, record)
        changed = {name: text for name, text in clean.items() if record.values.get(name) != text}
        before = {name: record.values.get(name) for name in changed}
        self._apply_values(table, record, clean)
        self._bump(table, record)
        for name, text in changed.items():  # stamped like the modified date they moved
            _note_history(record, name, before[name], text, at=record.updated_ms, source=SOURCE_SET)
        if changed:
            self._emit("UPDATE", table, record.id, properties=changed, values=record.values)
        return record

    def set_associations(
        self,
        record_id: int,
        company_ids: Iterable[int],
        primary_company_id: int | None,
        *,
        bump: bool = True,
    ) -> Record:
        """Replace a contact's companies (the primary one first); a changed primary bumps the
        contact's modified date unless `bump` is off (HubSpot does not document that it does)."""
        contact = self._active(self.tables["contacts"], record_id)
        before = contact.primary_company_id
        self._set_companies(contact, list(company_ids), primary_company_id)
        changed = before != contact.primary_company_id
        self._bump(self.tables["contacts"], contact, changed=changed and bump, written=changed)
        if changed and bump:
            self._emit_primary_company(contact)
        return contact

    def _emit_primary_company(self, contact: Record) -> None:
        """The UPDATE of a contact whose primary company (`associatedcompanyid`) changed."""
        value = contact.values.get("associatedcompanyid")
        changes = {"associatedcompanyid": value}
        self._emit(
            "UPDATE", self.tables["contacts"], contact.id, properties=changes, values=contact.values
        )

    def archive(self, object_type: str, record_id: int, *, bump: bool = True) -> Record:
        """Move a record to the archived listing (companies leave their contacts, whose
        modified date moves only when `bump` is on)."""
        table = self.table(object_type)
        record = self._active(table, record_id)
        now = self.clock()
        record.archived_ms = now
        record.written_ms = now
        if self.oldest_archive_ms is None or now < self.oldest_archive_ms:
            self.oldest_archive_ms = now
        table.active.remove(record.id)
        bisect.insort(table.archived, record.id)
        self._unindex(table, record)
        self._emit("DELETE", table, record.id)
        if table.object_type == "contacts":
            for company_id in record.company_ids:
                self.company_contacts.get(company_id, set()).discard(record.id)
        else:
            self._detach_company(record.id, replacement=None, bump=bump)
        self.version += 1
        return record

    def restore(self, object_type: str, record_id: int) -> Record:
        """Bring an archived record back (HubSpot's restore, within the retention): it is listed
        again with its unique values and its contact-to-company associations to companies that
        are still active (a company's own contacts, detached when it was archived, stay apart);
        its modified date moves."""
        table = self.table(object_type)
        record = table.get(record_id, archived=True)
        if record is None:
            msg = f"no archived {table.object_type} record with id {record_id} to restore"
            raise StoreError(msg, status=404)
        for name in table.unique_names:
            value = record.values.get(name)
            owner = None if value is None else table.find_unique(name, value)
            if owner is not None:
                msg = (
                    f"cannot restore {record_id}: {name} {value!r} now belongs to record {owner.id}"
                )
                raise StoreError(msg, status=409)
        record.archived_ms = None
        table.archived.remove(record.id)
        bisect.insort(table.active, record.id)
        self._apply_values(
            table, record, {n: record.values[n] for n in table.unique_names if n in record.values}
        )
        self._emit("RESTORE", table, record.id)
        if table.object_type == "contacts":
            companies = self.tables["companies"]
            kept = [c for c in record.company_ids if companies.get(c) is not None]
            primary = record.primary_company_id if record.primary_company_id in kept else None
            self._set_companies(record, kept, primary, auto_primary=False)
        self._bump(table, record)
        return record

    def merge(
        self,
        object_type: str,
        primary_id: int,
        merged_id: int,
        *,
        new_id: bool = True,
        bump: bool = True,
    ) -> Record:
        """Merge two active records and return the result.

        `new_id` (HubSpot's current behaviour): both records disappear and a new record with a
        new id takes the primary's values merged over the secondary's, the primary's
        associations first; both old ids resolve to it on reads by id. Otherwise (legacy) the
        primary absorbs the secondary and keeps its id. Either way the result lists every
        absorbed id in `hs_merged_object_ids`. `bump`: whether contacts whose primary company
        changes get a new modified date (company merges).
        """
        table = self.table(object_type)
        if primary_id == merged_id:
            msg = "primary_id and merged_id are the same record; merge two different ones"
            raise StoreError(msg)
        primary = self._active(table, primary_id)
        secondary = self._active(table, merged_id)
        if new_id:
            return self._merge_into_new(table, primary, secondary, bump=bump)
        self._remove(table, secondary)
        primary.merged_ids = sorted({*primary.merged_ids, secondary.id, *secondary.merged_ids})
        primary.values["hs_merged_object_ids"] = ";".join(map(str, primary.merged_ids))
        self._emit("MERGE", table, primary.id, primary_id=primary.id, merged_ids=(secondary.id,))
        if table.object_type == "contacts":
            self._move_email(primary, secondary)
            self._set_companies(
                primary,
                list(dict.fromkeys([*primary.company_ids, *secondary.company_ids])),
                primary.primary_company_id or secondary.primary_company_id,
            )
        else:
            self._detach_company(secondary.id, replacement=primary.id, bump=bump)
        self._bump(table, primary)
        return primary

    def _merge_into_new(
        self, table: Table, primary: Record, secondary: Record, *, bump: bool
    ) -> Record:
        values = {**secondary.values, **primary.values}
        for name in (*COMPUTED_PROPERTIES, "hs_additional_emails"):
            values.pop(name, None)
        merged_ids = sorted({primary.id, secondary.id, *primary.merged_ids, *secondary.merged_ids})
        companies = list(dict.fromkeys([*primary.company_ids, *secondary.company_ids]))
        primary_company = primary.primary_company_id or secondary.primary_company_id
        contacts = sorted(
            self.company_contacts.get(primary.id, set())
            | self.company_contacts.get(secondary.id, set())
        )
        extra_emails = [
            e
            for r in (primary, secondary)
            for e in r.values.get("hs_additional_emails", "").split(";")
            if e
        ]
        self._remove(table, primary)
        self._remove(table, secondary)
        observer, self.observer = self.observer, None  # the MERGE below reports the new record
        try:
            record = self.create(
                table.object_type,
                {},
                created_ms=min(primary.created_ms, secondary.created_ms),
                updated_ms=self.clock(),
            )
        finally:
            self.observer = observer
        record.written_ms = self.clock()
        self._apply_values(table, record, dict(values))
        for name, text in values.items():
            _note_history(record, name, None, text, at=record.written_ms, source=SOURCE_SET)
        if extra_emails:
            record.values["hs_additional_emails"] = ";".join(dict.fromkeys(extra_emails))
        record.merged_ids = merged_ids
        record.values["hs_merged_object_ids"] = ";".join(map(str, merged_ids))
        for old in (primary.id, secondary.id):
            table.aliases[old] = record.id
        for old, target in table.aliases.items():
            if target in (primary.id, secondary.id):
                table.aliases[old] = record.id
        self._emit(
            "MERGE",
            table,
            record.id,
            primary_id=primary.id,
            merged_ids=(secondary.id,),
            new_id=True,
        )
        if table.object_type == "contacts":
            self._move_email(record, secondary)
            if companies:
                self._set_companies(record, companies, primary_company)
        else:
            self._repoint_company(contacts, (primary.id, secondary.id), record.id, bump=bump)
        self.version += 1
        return record

    def _move_email(self, survivor: Record, absorbed: Record) -> None:
        """The absorbed contact's email joins the survivor's `hs_additional_emails`."""
        email = absorbed.values.get("email")
        extra = [e for e in survivor.values.get("hs_additional_emails", "").split(";") if e]
        known = {e.lower() for e in [survivor.values.get("email", ""), *extra]}
        if email and email.lower() not in known:
            survivor.values["hs_additional_emails"] = ";".join([*extra, email])

    def _remove(self, table: Table, record: Record) -> None:
        """Take a record out of every listing and index (merges and permanent deletes)."""
        self._unindex(table, record)
        del table.records[record.id]
        (table.archived if record.archived else table.active).remove(record.id)
        if table.object_type == "contacts":
            for company_id in record.company_ids:
                self.company_contacts.get(company_id, set()).discard(record.id)

    def purge(
        self, object_type: str, record_id: int, *, bump: bool = True, privacy: bool = False
    ) -> Record:
        """Delete a record permanently, active or archived (a GDPR delete when `privacy`):
        nothing of it remains, not even the old ids that resolved to it. A purged company
        leaves its contacts without it (`bump` as for archives)."""
        table = self.table(object_type)
        record = table.resolve(record_id, archived=None)
        if record is None:
            msg = f"no {table.object_type} record with id {record_id}, active or archived"
            raise StoreError(msg, status=404)
        self._remove(table, record)
        for old in [old for old, target in table.aliases.items() if target == record.id]:
            del table.aliases[old]
        self._emit("PURGE", table, record.id, privacy=privacy)
        if table.object_type == "companies" and not record.archived:
            self._detach_company(record.id, replacement=None, bump=bump)
        self.version += 1
        return record

    def expire_archives(self, retention_ms: int) -> int:
        """Purge archived records archived more than `retention_ms` ago (HubSpot keeps them
        restorable for 90 days, then deletes them); returns how many went."""
        horizon = self.clock() - retention_ms
        if self.oldest_archive_ms is None or self.oldest_archive_ms >= horizon:
            return 0
        purged = 0
        remaining: list[int] = []
        for table in self.tables.values():
            for record_id in list(table.archived):
                archived_ms = table.records[record_id].archived_ms or 0
                if archived_ms < horizon:
                    self.purge(table.object_type, record_id)
                    purged += 1
                else:
                    remaining.append(archived_ms)
        self.oldest_archive_ms = min(remaining, default=None)
        return purged

    def time_travel(self, shift_ms: int) -> None:
        """Make every stored moment `shift_ms` older, as if that much time had passed since
        (the wall clock itself stays real, so clients and the emulator agree on now)."""
        for table in self.tables.values():
            for record in table.records.values():
                record.created_ms -= shift_ms
                record.updated_ms -= shift_ms
                record.written_ms -= shift_ms
                if record.archived_ms is not None:
                    record.archived_ms -= shift_ms
                for entries in record.history.values():
                    entries[:] = [(at - shift_ms, v, src) for at, v, src in entries]
                record.created_iso = iso_ms(record.created_ms)
                record.updated_iso = iso_ms(record.updated_ms)
                record.values["createdate"] = record.created_iso
                record.parsed.clear()
                self._stamp_modified(table, record)
        if self.oldest_archive_ms is not None:
            self.oldest_archive_ms -= shift_ms
        self.version += 1

    def touch(
        self,
        object_type: str,
        *,
        ids: Iterable[int] | None = None,
        count: int | None = None,
        timestamp_ms: int | None = None,
    ) -> int:
        """Give many active records one identical modified timestamp (HubSpot's bulk updates)."""
        table = self.table(object_type)
        stamp = self.clock() if timestamp_ms is None else timestamp_ms
        if ids is None:
            chosen = table.active if count is None else table.active[:count]
            targets = [table.records[i] for i in chosen]
        else:
            targets = [self._active(table, int(i)) for i in ids]
        now = self.clock()
        iso = iso_ms(stamp)
        for record in targets:
            record.updated_ms = stamp
            record.updated_iso = iso
            record.written_ms = now
            record.parsed.clear()
            self._stamp_modified(table, record)
        self.version += 1
        return len(targets)

    # --- helpers ------------------------------------------------------------------------

    def active(self, object_type: str, record_id: int) -> Record:
        """The active record of a type with this id, or a 404-worthy error."""
        return self._active(self.table(object_type), record_id)

    def _active(self, table: Table, record_id: int) -> Record:
        record = table.get(record_id)
        if record is None:
            msg = f"no active {table.object_type} record with id {record_id}"
            raise StoreError(msg, status=404)
        return record

    def _checked_values(
        self, table: Table, values: Mapping[str, Any], record: Record | None
    ) -> dict[str, str | None]:
        if not isinstance(values, Mapping):
            msg = "properties must be a JSON object of property name to value"
            raise StoreError(msg)
        clean: dict[str, str | None] = {}
        for name, value in values.items():
            if name not in table.properties:
                msg = f"property {name!r} does not exist on {table.object_type}"
                raise StoreError(msg)
            if name in COMPUTED_PROPERTIES:
                msg = f"property {name!r} is computed by HubSpot and cannot be set"
                raise StoreError(msg)
            if value is None or value == "":
                clean[name] = None
                continue
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, (int, float, str)):
                text = str(value)
            else:
                msg = f"property {name!r} needs a string, number or boolean value"
                raise StoreError(msg)
            if name == "email" and text.lower() in self.blocked_emails:
                msg = f"email {text!r} is blocked by a permanent (GDPR) delete; use another one"
                raise StoreError(msg, status=409)
            if name in table.unique_index:
                owner = table.find_unique(name, text)
                if owner is not None and owner is not record:
                    msg = f"{name} {text!r} already belongs to record {owner.id}"
                    raise StoreError(msg, status=409)
            clean[name] = text
        return clean

    def _apply_values(self, table: Table, record: Record, clean: dict[str, str | None]) -> None:
        for name, text in clean.items():
            index = table.unique_index.get(name)
            old = record.values.get(name)
            if index is not None and old is not None:
                index.pop(_unique_key(name, old), None)
            if text is None:
                record.values.pop(name, None)
            else:
                record.values[name] = text
                if index is not None:
                    index[_unique_key(name, text)] = record.id
        record.parsed.clear()

    def _unindex(self, table: Table, record: Record) -> None:
        for name, index in table.unique_index.items():
            value = record.values.get(name)
            if value is not None and index.get(_unique_key(name, value)) == record.id:
                del index[_unique_key(name, value)]

    def _stamp_modified(self, table: Table, record: Record) -> None:
        record.values[MODIFIED_PROPERTY[table.object_type]] = record.updated_iso
        if table.object_type == "contacts":
            record.values["hs_lastmodifieddate"] = record.updated_iso

    def _bump(
        self, table: Table, record: Record, *, changed: bool = True, written: bool = False
    ) -> None:
        """A new modified date when `changed`; `written` alone only re-indexes the record for
        search (its index lag applies) without touching the modified date."""
        if written and not changed:
            record.written_ms = self.clock()
            record.parsed.clear()
        if changed:
            now = self.clock()
            # Keep modified dates strictly increasing per record even within one millisecond.
            record.updated_ms = max(now, record.updated_ms + 1)
            record.updated_iso = iso_ms(record.updated_ms)
            record.written_ms = now
            record.parsed.clear()
            self._stamp_modified(table, record)
        self.version += 1

    def _set_companies(
        self,
        contact: Record,
        company_ids: list[int],
        primary: int | None,
        *,
        auto_primary: bool = True,
        track: bool = True,
    ) -> None:
        """Replace a contact's companies; without a primary the first one becomes primary
        unless `auto_primary` is off (a deleted primary leaves the contact without one).
        `track`: a changed primary company enters `associatedcompanyid`'s history (off while
        the contact is created: its first value is the implicit creation entry)."""
        companies = self.tables["companies"]
        if primary is not None and primary not in company_ids:
            company_ids = [primary, *company_ids]
        for company_id in company_ids:
            if companies.get(company_id) is None:
                msg = f"no active company with id {company_id} to associate"
                raise StoreError(msg, status=404)
        if primary is None and company_ids and auto_primary:
            primary = company_ids[0]
        before = _association_pairs(contact.company_ids, contact.primary_company_id)
        for old in contact.company_ids:
            self.company_contacts.get(old, set()).discard(contact.id)
        contact.company_ids = list(dict.fromkeys(company_ids))
        contact.primary_company_id = primary
        after = _association_pairs(contact.company_ids, primary)
        table = self.tables["contacts"]
        for company_id, type_id in sorted(before - after):
            self._emit(
                "ASSOCIATION",
                table,
                contact.id,
                associated_id=company_id,
                type_id=type_id,
                removed=True,
            )
        for company_id, type_id in sorted(after - before):
            self._emit("ASSOCIATION", table, contact.id, associated_id=company_id, type_id=type_id)
        if not contact.archived:
            for company_id in contact.company_ids:
                self.company_contacts.setdefault(company_id, set()).add(contact.id)
        linked = None if primary is None else str(primary)
        old_link = contact.values.get("associatedcompanyid")
        if track and old_link != linked:
            _note_history(
                contact,
                "associatedcompanyid",
                old_link,
                linked,
                at=self.clock(),
                source=SOURCE_COMPUTED,
            )
        if linked is None:
            contact.values.pop("associatedcompanyid", None)
        else:
            contact.values["associatedcompanyid"] = linked
        contact.parsed.clear()

    def _detach_company(self, company_id: int, replacement: int | None, *, bump: bool) -> None:
        """Move (or drop) every contact's association with a company that goes away."""
        contacts = sorted(self.company_contacts.get(company_id, set()))
        self._repoint_company(contacts, (company_id,), replacement, bump=bump)

    def _repoint_company(
        self, contact_ids: list[int], old_ids: tuple[int, ...], new_id: int | None, *, bump: bool
    ) -> None:
        """Replace the companies `old_ids` by `new_id` (None: drop them) on these contacts;
        a contact whose primary was one of them gets `new_id` as primary (or none)."""
        contacts = self.tables["contacts"]
        for old in old_ids:
            self.company_contacts.pop(old, None)
        for contact_id in contact_ids:
            contact = contacts.records[contact_id]
            companies = [new_id if c in old_ids else c for c in contact.company_ids]
            primary = contact.primary_company_id
            if primary in old_ids:
                primary = new_id
            before = contact.primary_company_id
            self._set_companies(
                contact,
                [c for c in dict.fromkeys(companies) if c is not None],
                primary,
                auto_primary=False,
            )
            changed = before != contact.primary_company_id
            self._bump(contacts, contact, changed=changed and bump, written=changed)
            if changed and bump:
                self._emit_primary_company(contact)

    # --- reads for the admin API ---------------------------------------------------------

    def dump(self, object_type: str, archived: str = "false") -> list[dict[str, Any]]:
        """Every record with its stored values and associations (admin API)."""
        table = self.table(object_type)
        if archived == "any":
            ids = sorted([*table.active, *table.archived])
        elif archived in ("true", "false"):
            ids = table.ids(archived=archived == "true")
        else:
            msg = "archived must be any, true or false"
            raise StoreError(msg)
        return [self.dump_record(table, table.records[i]) for i in ids]

    def dump_record(self, table: Table, record: Record) -> dict[str, Any]:
        """One record as the admin API shows it."""
        data: dict[str, Any] = {
            "id": record.sid,
            "properties": dict(record.values),
            "createdAt": record.created_iso,
            "updatedAt": record.updated_iso,
            "archived": record.archived,
            "archivedAt": None if record.archived_ms is None else iso_ms(record.archived_ms),
            "merged_ids": [str(i) for i in record.merged_ids],
        }
        if table.object_type == "contacts":
            data["company_ids"] = [str(i) for i in record.company_ids]
            primary = record.primary_company_id
            data["primary_company_id"] = None if primary is None else str(primary)
        else:
            data["contact_ids"] = [str(i) for i in sorted(self.company_contacts.get(record.id, ()))]
        return data
