"""Records as HubSpot renders them: property selection, nulls, epoch-ms dates, associations."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from emulators.hubspot.config import EmulatorConfig
from emulators.hubspot.model import Record, Store, Table
from emulators.hubspot.properties import ALWAYS_RETURNED
from emulators.hubspot.timeutil import iso_ms, parse_ms

# HubSpot's association type ids, https://developers.hubspot.com/docs/api/crm/associations:
# contact->company primary 1,
# unlabeled 279; company->contact primary 2, unlabeled 280.
CONTACT_TO_COMPANY_PRIMARY = 1
CONTACT_TO_COMPANY_UNLABELED = 279
COMPANY_TO_CONTACT_PRIMARY = 2
COMPANY_TO_CONTACT_UNLABELED = 280
# Resolution of the per-(record, property) draw deciding epoch-ms rendering.
_SHARE_BUCKETS = 10_000
# Knuth's multiplicative hash spreads consecutive ids evenly over the buckets.
_KNUTH_MULTIPLIER = 2_654_435_761


def select_properties(
    table: Table, requested: Iterable[str] | None, default: Sequence[str]
) -> list[str]:
    """Requested known properties (unknown ignored) plus the always-returned ones, in order."""
    names = list(default) if requested is None else [n for n in requested if n in table.properties]
    return list(dict.fromkeys([*names, *ALWAYS_RETURNED[table.object_type]]))


class Renderer:
    """Turns records into HubSpot's `SimplePublicObject` dicts for one request."""

    def __init__(
        self,
        table: Table,
        names: list[str],
        config: EmulatorConfig,
        *,
        history: Sequence[str] = (),
    ) -> None:
        self.table = table
        self.names = names
        # `propertiesWithHistory`: known properties only (unknown ones are ignored, as in
        # `properties`).
        self.history_names = [n for n in dict.fromkeys(history) if n in table.properties]
        share = config.epoch_ms_date_share
        types = set(config.epoch_ms_date_types)
        self.epoch_names: dict[str, int] = {}
        if share > 0:
            for name in names:
                prop = table.properties[name]
                if prop.type in types:
                    self.epoch_names[name] = zlib.crc32(name.encode())
        self.threshold = int(share * _SHARE_BUCKETS)
        self.warnings = config.record_warnings

    def properties(self, record: Record) -> dict[str, str | None]:
        """The selected properties; requested-but-empty ones are null."""
        values = record.values
        props = {name: values.get(name) for name in self.names}
        if self.epoch_names:
            for name, salt in self.epoch_names.items():
                value = props[name]
                if (
                    value is not None
                    and (record.id * _KNUTH_MULTIPLIER + salt) % _SHARE_BUCKETS < self.threshold
                ):
                    ms = parse_ms(value)
                    if ms is not None:
                        props[name] = str(ms)
        return props

    def record(self, record: Record) -> dict[str, Any]:
        """One `SimplePublicObject`."""
        data: dict[str, Any] = {
            "id": record.sid,
            "properties": self.properties(record),
            "createdAt": record.created_iso,
            "updatedAt": record.updated_iso,
            "archived": record.archived,
        }
        if record.archived_ms is not None:
            data["archivedAt"] = iso_ms(record.archived_ms)
        if self.history_names:
            data["propertiesWithHistory"] = {
                name: [
                    {"value": value, "timestamp": iso_ms(at), "sourceType": source}
                    for at, value, source in self.table.history(record, name)
                ]
                for name in self.history_names
            }
        if self.warnings:
            data["warnings"] = record_warnings(record)
        return data


def record_warnings(record: Record) -> list[dict[str, Any]]:
    """`warnings[]` (`PublicObjectWarning`: `category`, `message`, `context`), added to the
    record schema in 2026 (v3 and date-versioned specs). Their real categories are not
    documented; this one is the emulator's own, so clients learn to ignore what they don't know.
    """
    return [
        {
            "category": "EMULATOR_NOTICE",
            "message": "An emulated warning: clients must tolerate warnings they do not know.",
            "context": {"objectId": record.sid},
        }
    ]


def inline_associations(
    store: Store, table: Table, record: Record, wanted: list[str]
) -> dict[str, Any] | None:
    """The list endpoint's `associations` map: one entry per label, like HubSpot."""
    result: dict[str, Any] = {}
    if table.object_type == "contacts" and wanted_includes(wanted, "companies"):
        items: list[dict[str, str]] = []
        for company_id in record.company_ids:
            sid = str(company_id)
            if company_id == record.primary_company_id:
                items.append({"id": sid, "type": "contact_to_company"})
            items.append({"id": sid, "type": "contact_to_company_unlabeled"})
        if items:
            result["companies"] = {"results": items}
    if table.object_type == "companies" and wanted_includes(wanted, "contacts"):
        contacts = store.tables["contacts"].records
        items = []
        for contact_id in sorted(store.company_contacts.get(record.id, ())):
            sid = str(contact_id)
            if contacts[contact_id].primary_company_id == record.id:
                items.append({"id": sid, "type": "company_to_contact"})
            items.append({"id": sid, "type": "company_to_contact_unlabeled"})
        if items:
            result["contacts"] = {"results": items}
    return result or None


def wanted_includes(wanted: list[str], plural: str) -> bool:
    """Whether an `associations` list names a type (HubSpot accepts singular and plural)."""
    return (
        plural in wanted or plural[:-1] in wanted or (plural == "companies" and "company" in wanted)
    )


def association_types(from_type: str, primary: bool) -> list[dict[str, Any]]:
    """The v4 `associationTypes` of one pair: the primary label (if any) and the unlabeled one."""
    if from_type == "contacts":
        primary_id, unlabeled_id = CONTACT_TO_COMPANY_PRIMARY, CONTACT_TO_COMPANY_UNLABELED
    else:
        primary_id, unlabeled_id = COMPANY_TO_CONTACT_PRIMARY, COMPANY_TO_CONTACT_UNLABELED
    types: list[dict[str, Any]] = []
    if primary:
        types.append({"category": "HUBSPOT_DEFINED", "typeId": primary_id, "label": "Primary"})
    types.append({"category": "HUBSPOT_DEFINED", "typeId": unlabeled_id, "label": None})
    return types
