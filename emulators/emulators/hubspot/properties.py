"""Property definitions: what `GET /crm/v3/properties/{type}` returns and how values compare.

The standard properties mirror HubSpot's defaults for contacts and companies (names and types
from the properties guide and the search guide's default lists:
https://developers.hubspot.com/docs/api-reference/crm-properties-v3/guide);
the custom ones are the Gather internal IDs, a duplicate-prone legacy ID, a `date` property and
any number of generated extras (to make property lists long enough to hit URL limits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# Deals exist so a third object can be synced (seeded only when asked: `deals=N`).
ObjectType = Literal["contacts", "companies", "deals"]
OBJECT_TYPES: tuple[ObjectType, ...] = ("contacts", "companies", "deals")

# The property holding each type's modified date: contacts `lastmodifieddate`, companies
# `hs_lastmodifieddate` (https://developers.hubspot.com/docs/api/crm/contacts).
MODIFIED_PROPERTY: dict[ObjectType, str] = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
# Unique internal-ID custom properties (hasUniqueValue) and the duplicate-prone legacy ones.
UNIQUE_ID_PROPERTY: dict[ObjectType, str] = {
    "contacts": "gather_user_id",
    "companies": "gather_account_id",
    "deals": "gather_deal_id",
}
DUPLICATE_ID_PROPERTY: dict[ObjectType, str] = {
    "contacts": "legacy_user_ref",
    "companies": "legacy_account_ref",
    "deals": "legacy_deal_ref",
}
DATE_PROPERTY: dict[ObjectType, str] = {
    "contacts": "gather_signup_date",
    "companies": "contract_start_date",
    "deals": "deal_start_date",
}
# Returned when a list/read call names no properties (contacts guide and spec info table).
LIST_DEFAULT_PROPERTIES: dict[ObjectType, tuple[str, ...]] = {
    "contacts": ("firstname", "lastname", "email"),
    "companies": ("name", "domain"),
    "deals": ("dealname", "amount", "closedate", "pipeline", "dealstage"),
}
# Returned by search when no properties are named (D-search).
SEARCH_DEFAULT_PROPERTIES: dict[ObjectType, tuple[str, ...]] = {
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "companies": ("name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"),
    "deals": (
        "dealname",
        "amount",
        "closedate",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
}
# Always present on every returned record, whatever was asked for (observed on list pages).
ALWAYS_RETURNED: dict[ObjectType, tuple[str, ...]] = {
    "contacts": ("createdate", "hs_object_id", "lastmodifieddate"),
    "companies": ("createdate", "hs_lastmodifieddate", "hs_object_id"),
    "deals": ("createdate", "hs_lastmodifieddate", "hs_object_id"),
}
# Properties the emulator computes; admin updates may not set them.
COMPUTED_PROPERTIES = frozenset(
    {
        "hs_object_id",
        "createdate",
        "lastmodifieddate",
        "hs_lastmodifieddate",
        "associatedcompanyid",
        "hs_merged_object_ids",
    }
)
# Free-text `query` searches these (D-search: default searchable properties).
QUERY_PROPERTIES: dict[ObjectType, tuple[str, ...]] = {
    "contacts": ("firstname", "lastname", "email", "phone", "company"),
    "companies": ("name", "domain", "phone", "website"),
    "deals": ("dealname",),
}
# When every generated record was "created" by the emulator's pretend user.
EMULATOR_EPOCH_ISO = "2020-01-01T00:00:00.000Z"


@dataclass(frozen=True)
class PropertyDef:
    """One property definition, enough to render HubSpot's `Property` object."""

    name: str
    label: str
    type: str
    field_type: str
    group: str
    description: str = ""
    has_unique_value: bool = False
    calculated: bool = False
    read_only: bool = False
    hubspot_defined: bool = True
    options: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    display_order: int = -1

    def to_json(self) -> dict[str, Any]:
        """HubSpot's `Property` object (properties spec)."""
        data: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group,
            "options": [
                {"label": label, "value": value, "displayOrder": order, "hidden": False}
                for order, (label, value) in enumerate(self.options)
            ],
            "displayOrder": self.display_order,
            "calculated": self.calculated,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": False,
            "formField": not self.read_only,
            "archived": False,
            "createdAt": EMULATOR_EPOCH_ISO,
            "updatedAt": EMULATOR_EPOCH_ISO,
            "dataSensitivity": "non_sensitive",
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
        }
        if self.hubspot_defined:
            data["hubspotDefined"] = True
        return data


def _text(name: str, label: str, group: str, **kw: Any) -> PropertyDef:
    return PropertyDef(name, label, "string", "text", group, **kw)


def _datetime(name: str, label: str, group: str, **kw: Any) -> PropertyDef:
    return PropertyDef(name, label, "datetime", "date", group, read_only=True, **kw)


def _number(name: str, label: str, group: str, **kw: Any) -> PropertyDef:
    return PropertyDef(name, label, "number", "number", group, **kw)


def _merged_ids(label: str, group: str) -> PropertyDef:
    """`hs_merged_object_ids`: the ids merged into a record, which HubSpot computes."""
    return PropertyDef(
        "hs_merged_object_ids", label, "enumeration", "checkbox", group,
        read_only=True, calculated=True,
    )  # fmt: skip


_LIFECYCLE = (("Subscriber", "subscriber"), ("Lead", "lead"), ("Customer", "customer"))
_INDUSTRY = (
    ("Computer Software", "COMPUTER_SOFTWARE"),
    ("Financial Services", "FINANCIAL_SERVICES"),
    ("Retail", "RETAIL"),
    ("Hospital & Health Care", "HOSPITAL_HEALTH_CARE"),
)


def _standard(object_type: ObjectType) -> list[PropertyDef]:
    if object_type == "contacts":
        info = "contactinformation"
        return [
            _text("email", "Email", info),
            _text("firstname", "First Name", info),
            _text("lastname", "Last Name", info),
            PropertyDef("phone", "Phone Number", "string", "phonenumber", info),
            _text("city", "City", info),
            _text("country", "Country/Region", info),
            _text("company", "Company Name", info),
            _text("jobtitle", "Job Title", info),
            PropertyDef(
                "lifecyclestage",
                "Lifecycle Stage",
                "enumeration",
                "radio",
                info,
                options=_LIFECYCLE,
            ),
            PropertyDef(
                "hs_additional_emails",
                "Additional email addresses",
                "enumeration",
                "checkbox",
                info,
                read_only=True,
            ),
            _datetime("createdate", "Create Date", info),
            _datetime("lastmodifieddate", "Last Modified Date", info),
            _datetime("hs_lastmodifieddate", "Object last modified date/time", info),
            _number("hs_object_id", "Record ID", info, read_only=True),
            _number(
                "associatedcompanyid",
                "Primary Associated Company ID",
                info,
                read_only=True,
                description="The primary company's id; read-only since April 2019.",
            ),
            _merged_ids("Merged Contact IDs", info),
        ]
    if object_type == "deals":
        info = "dealinformation"
        return [
            _text("dealname", "Deal Name", info),
            _number("amount", "Amount", info),
            _text("pipeline", "Pipeline", info),
            _text("dealstage", "Deal Stage", info),
            _datetime("closedate", "Close Date", info),
            _datetime("createdate", "Create Date", info),
            _datetime("hs_lastmodifieddate", "Last Modified Date", info),
            _number("hs_object_id", "Record ID", info, read_only=True),
            _merged_ids("Merged Deal IDs", info),
        ]
    info = "companyinformation"
    return [
        _text("name", "Company name", info),
        _text("domain", "Company Domain Name", info),
        _text("website", "Website URL", info),
        PropertyDef("phone", "Phone Number", "string", "phonenumber", info),
        _text("city", "City", info),
        _text("country", "Country/Region", info),
        PropertyDef("industry", "Industry", "enumeration", "select", info, options=_INDUSTRY),
        _number("numberofemployees", "Number of Employees", info),
        _number("annualrevenue", "Annual Revenue", info),
        _datetime("createdate", "Create Date", info),
        _datetime("hs_lastmodifieddate", "Last Modified Date", info),
        _number("hs_object_id", "Record ID", info, read_only=True),
        _merged_ids("Merged Company IDs", info),
    ]


def _custom(object_type: ObjectType) -> list[PropertyDef]:
    group = "gather"
    noun = {"contacts": "user", "companies": "account", "deals": "deal"}[object_type]
    return [
        _text(
            UNIQUE_ID_PROPERTY[object_type],
            f"Gather {noun} ID",
            group,
            has_unique_value=True,
            hubspot_defined=False,
            description=f"Your internal {noun} ID, unique per record.",
        ),
        _text(
            DUPLICATE_ID_PROPERTY[object_type],
            f"Legacy {noun} reference",
            group,
            hubspot_defined=False,
            description="An old ID some records share by mistake.",
        ),
        PropertyDef(
            DATE_PROPERTY[object_type],
            f"{noun.title()} start date",
            "date",
            "date",
            group,
            hubspot_defined=False,
        ),
    ]


def extra_property_name(index: int) -> str:
    """Name of the `index`-th generated custom property (long on purpose: URL-length tests)."""
    return f"custom_property_{index:04d}"


def build_properties(object_type: ObjectType, extra: int) -> dict[str, PropertyDef]:
    """Every property of a type, by name, in display order."""
    defs = _standard(object_type) + _custom(object_type)
    defs += [
        _text(extra_property_name(i), f"Custom property {i}", "gather", hubspot_defined=False)
        for i in range(extra)
    ]
    return {d.name: d for d in defs}
