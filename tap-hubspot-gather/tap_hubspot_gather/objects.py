"""The HubSpot objects the tap syncs, as data: one declaration per object.

Each `CrmObject` names everything object-specific: the HubSpot object type, the stream it
becomes, the setting choosing its ID property and the built-in ids that setting accepts, the
modified-date property, the properties always requested, how its records link to an account
(the stream class), and the Gather stream it feeds by default. Discovery, the streams and the
settings they read are driven by `OBJECTS`; adding an object is adding a declaration here.

`default_properties` are HubSpot's own (HubSpot-defined) properties of the object, with their
HubSpot types: the catalog lists them when discovery has no credentials to read the portal's
properties (a test checks names and types against the emulator's portal). HubSpot documents its
default properties at https://knowledge.hubspot.com/properties/hubspots-default-company-properties
and https://knowledge.hubspot.com/properties/hubspots-default-contact-properties.
"""

from __future__ import annotations

from dataclasses import dataclass

from tap_hubspot_gather.accounts import COMPANY_ID
from tap_hubspot_gather.properties import PropertyDef
from tap_hubspot_gather.streams import (
    MERGED_PROPERTY,
    CompaniesStream,
    ContactsStream,
    CRMStream,
)


@dataclass(frozen=True)
class CrmObject:
    """One HubSpot CRM object and how the tap reads it."""

    object_type: str  # HubSpot's object type in /crm/objects/{version}/{object_type}
    stream_name: str
    # Setting naming the property that holds the Gather ID; unset means `builtin_ids[0]`.
    id_setting: str
    # Accepted without a property definition; the first is the HubSpot id under its own name.
    builtin_ids: tuple[str, ...]
    modified_property: str
    noun: str  # one HubSpot record, in messages ("company")
    gather_noun: str  # one Gather record, in messages ("account")
    extra_properties: tuple[str, ...] = (MERGED_PROPERTY,)
    # The behaviour: CRMStream for a plain object; subclasses add account links.
    stream_class: type[CRMStream] = CRMStream
    # Its key is the account ID contacts link to (exactly one object feeds the account index).
    feeds_accounts: bool = False
    # Its records link to an account (their association events re-link them, journal mode).
    links_accounts: bool = False
    # HubSpot's object type id in webhook and journal events ("0-1" contacts, "0-2"
    # companies: https://developers.hubspot.com/docs/guides/api/crm/understanding-the-crm).
    object_type_id: str = ""
    # HubSpot reports privacy (GDPR) deletions of it (contacts only).
    privacy_deletes: bool = False
    # HubSpot's default properties of the object (name and HubSpot type): the catalog without
    # credentials. They include the modified-date and extra properties the sync requests.
    default_properties: tuple[PropertyDef, ...] = ()

    @property
    def hubspot_id_field(self) -> str:
        """The field carrying the HubSpot id in every record (`companyId`, `vid`, ...)."""
        return self.builtin_ids[0]

    @property
    def id_setting_description(self) -> str:
        """The ID setting's documentation (settings schema, `--about`, README)."""
        others = "".join(f", or `{name}`" for name in self.builtin_ids[1:])
        return (
            f"{self.noun.capitalize()} property holding the Gather {self.gather_noun} ID, or "
            f"`{self.hubspot_id_field}` for HubSpot's {self.noun} id{others}."
        )


def _defaults(**types: tuple[str, ...]) -> tuple[PropertyDef, ...]:
    """Property definitions grouped by HubSpot type: `string=("name", ...), number=(...)`."""
    return tuple(PropertyDef(name, kind) for kind, names in types.items() for name in names)


COMPANIES = CrmObject(
    object_type="companies",
    stream_name="companies",
    id_setting="account_id_property",
    builtin_ids=(COMPANY_ID,),
    modified_property="hs_lastmodifieddate",
    noun="company",
    gather_noun="account",
    stream_class=CompaniesStream,
    feeds_accounts=True,
    object_type_id="0-2",
    default_properties=_defaults(
        string=("name", "domain", "website", "phone", "city", "country"),
        enumeration=("industry", MERGED_PROPERTY),
        number=("numberofemployees", "annualrevenue", "hs_object_id"),
        datetime=("createdate", "hs_lastmodifieddate"),
    ),
)
CONTACTS = CrmObject(
    object_type="contacts",
    stream_name="contacts",
    id_setting="user_id_property",
    builtin_ids=("vid", "email"),
    modified_property="lastmodifieddate",
    noun="contact",
    gather_noun="user",
    extra_properties=("associatedcompanyid", MERGED_PROPERTY),
    stream_class=ContactsStream,
    links_accounts=True,
    object_type_id="0-1",
    privacy_deletes=True,
    default_properties=_defaults(
        string=(
            "email",
            "firstname",
            "lastname",
            "phone",
            "company",
            "jobtitle",
            "city",
            "country",
        ),
        enumeration=("lifecyclestage", MERGED_PROPERTY),
        number=("hs_object_id", "associatedcompanyid"),
        datetime=("createdate", "lastmodifieddate"),
    ),
)

# In sync order: the object feeding the account index comes before those linking to it.
OBJECTS: list[CrmObject] = [COMPANIES, CONTACTS]


def register(obj: CrmObject) -> None:
    """Add an object to the tap (sync order: after the ones already declared)."""
    if any(o.stream_name == obj.stream_name for o in OBJECTS):
        msg = f"an object already syncs as stream {obj.stream_name!r}"
        raise ValueError(msg)
    OBJECTS.append(obj)


def unregister(stream_name: str) -> None:
    """Remove an object added with `register` (tests)."""
    OBJECTS[:] = [o for o in OBJECTS if o.stream_name != stream_name]
