"""The CRM data: records, their properties and associations, merges, archives and touches.

One `Store` holds a `Table` per object type. Ids are integers ascending by creation (HubSpot
ids are numeric strings, ascending in creation order, hubspot-api.md section 1). Every write
bumps `Store.version`, which search uses to invalidate its cached result sets, and stamps the
record's `written_ms` (wall clock) so search can hide writes younger than its index lag.
Nothing here knows about HTTP.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from emulators.hubspot.properties import (
    COMPUTED_PROPERTIES,
    MODIFIED_PROPERTY,
    OBJECT_TYPES,
    ObjectType,
    PropertyDef,
    build_properties,
)
from emulators.hubspot.timeutil import iso_ms, now_ms


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

    def get(self, record_id: int, *, archived: bool | None = False) -> Record | None:
        """The record with this id, if it is in the wanted listing (None = either)."""
        record = self.records.get(record_id)
        if record is None or (archived is not None and record.archived != archived):
            return None
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


def _unique_key(name: str, value: str) -> str:
    return value.lower() if name == "email" else value


class Store:
    """All CRM data of one emulated portal."""

    def __init__(self, extra_properties: int = 0, clock: Callable[[], int] = now_ms) -> None:
        self.clock = clock
        self.version = 0
        self.tables: dict[ObjectType, Table] = {t: Table(t, extra_properties) for t in OBJECT_TYPES}
        # Active contacts associated with each company (the company -> contact direction).
        self.company_contacts: dict[int, set[int]] = {}

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
        companies = list(company_ids)
        if primary_company_id is not None or companies:
            self._set_companies(record, companies, primary_company_id)
        self.version += 1
        return record

    def update(self, object_type: str, record_id: int, values: Mapping[str, Any]) -> Record:
        """Change properties (null or "" clears one) and bump the modified date."""
        table = self.table(object_type)
        record = self._active(table, record_id)
        clean = self._checked_values(table, values, record)
        self._apply_values(table, record, clean)
        self._bump(table, record)
        return record

    def set_associations(
        self, record_id: int, company_ids: Iterable[int], primary_company_id: int | None
    ) -> Record:
        """Replace a contact's companies (the primary one first); bumps it if that changes."""
        contact = self._active(self.tables["contacts"], record_id)
        before = contact.primary_company_id
        self._set_companies(contact, list(company_ids), primary_company_id)
        self._bump(self.tables["contacts"], contact, changed=before != contact.primary_company_id)
        return contact

    def archive(self, object_type: str, record_id: int) -> Record:
        """Move a record to the archived listing (companies leave their contacts)."""
        table = self.table(object_type)
        record = self._active(table, record_id)
        now = self.clock()
        record.archived_ms = now
        record.written_ms = now
        table.active.remove(record.id)
        bisect.insort(table.archived, record.id)
        self._unindex(table, record)
        if table.object_type == "contacts":
            for company_id in record.company_ids:
                self.company_contacts.get(company_id, set()).discard(record.id)
        else:
            self._detach_company(record.id, replacement=None)
        self.version += 1
        return record

    def merge(self, object_type: str, primary_id: int, merged_id: int) -> Record:
        """Absorb `merged_id` into `primary_id`: the absorbed record disappears entirely."""
        table = self.table(object_type)
        if primary_id == merged_id:
            msg = "primary_id and merged_id are the same record; merge two different ones"
            raise StoreError(msg)
        survivor = self._active(table, primary_id)
        absorbed = self._active(table, merged_id)
        self._unindex(table, absorbed)
        del table.records[absorbed.id]
        table.active.remove(absorbed.id)
        survivor.merged_ids = sorted({*survivor.merged_ids, absorbed.id, *absorbed.merged_ids})
        survivor.values["hs_merged_object_ids"] = ";".join(map(str, survivor.merged_ids))
        if table.object_type == "contacts":
            email = absorbed.values.get("email")
            if email and email.lower() != survivor.values.get("email", "").lower():
                extra = [e for e in survivor.values.get("hs_additional_emails", "").split(";") if e]
                survivor.values["hs_additional_emails"] = ";".join([*extra, email])
            for company_id in absorbed.company_ids:
                self.company_contacts.get(company_id, set()).discard(absorbed.id)
            primary = survivor.primary_company_id or absorbed.primary_company_id
            companies = list(dict.fromkeys([*survivor.company_ids, *absorbed.company_ids]))
            self._set_companies(survivor, companies, primary)
        else:
            self._detach_company(absorbed.id, replacement=survivor.id)
        self._bump(table, survivor)
        return survivor

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

    def _bump(self, table: Table, record: Record, *, changed: bool = True) -> None:
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
    ) -> None:
        """Replace a contact's companies; without a primary the first one becomes primary
        unless `auto_primary` is off (a deleted primary leaves the contact without one)."""
        companies = self.tables["companies"]
        if primary is not None and primary not in company_ids:
            company_ids = [primary, *company_ids]
        for company_id in company_ids:
            if companies.get(company_id) is None:
                msg = f"no active company with id {company_id} to associate"
                raise StoreError(msg, status=404)
        if primary is None and company_ids and auto_primary:
            primary = company_ids[0]
        for old in contact.company_ids:
            self.company_contacts.get(old, set()).discard(contact.id)
        contact.company_ids = list(dict.fromkeys(company_ids))
        contact.primary_company_id = primary
        if not contact.archived:
            for company_id in contact.company_ids:
                self.company_contacts.setdefault(company_id, set()).add(contact.id)
        if primary is None:
            contact.values.pop("associatedcompanyid", None)
        else:
            contact.values["associatedcompanyid"] = str(primary)
        contact.parsed.clear()

    def _detach_company(self, company_id: int, replacement: int | None) -> None:
        """Move (or drop) every contact's association with a company that goes away."""
        contacts = self.tables["contacts"]
        for contact_id in sorted(self.company_contacts.pop(company_id, set())):
            contact = contacts.records[contact_id]
            companies = [
                replacement if c == company_id else c
                for c in contact.company_ids
                if c != company_id or replacement is not None
            ]
            primary = contact.primary_company_id
            if primary == company_id:
                primary = replacement
            before = contact.primary_company_id
            self._set_companies(
                contact, [c for c in companies if c is not None], primary, auto_primary=False
            )
            self._bump(contacts, contact, changed=before != contact.primary_company_id)

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
