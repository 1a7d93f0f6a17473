"""What the check reads from the tap's object declarations (`tap_hubspot_gather.objects`).

The check inspects every declared object, in sync order, and derives what it needs from the
declaration rather than from object names: which object feeds the account index, which ones
link to it through their primary company, which ones are keyed case-insensitively by email.
"""

from __future__ import annotations

from tap_hubspot_gather.objects import OBJECTS, CrmObject

EMAIL = "email"
# The property naming a record's primary company (HubSpot id), what the tap links accounts by.
PRIMARY_COMPANY_PROPERTY = "associatedcompanyid"


def checked_objects() -> list[CrmObject]:
    """The objects the check inspects: every declared one, in sync order (read at call time,
    so an object registered later is checked too)."""
    return list(OBJECTS)


def declaration(object_type: str) -> CrmObject:
    """The declaration of `object_type` (a `KeyError` names an undeclared one)."""
    for obj in OBJECTS:
        if obj.object_type == object_type:
            return obj
    raise KeyError(object_type)


def singular(noun: str) -> str | None:
    """`company` for `companies` (a declared object type); None for any other word."""
    return next((o.noun for o in OBJECTS if o.object_type == noun), None)


def links_to_accounts(obj: CrmObject) -> bool:
    """Its records link to an account through their primary company (contacts): the object
    requests the primary company property and does not feed the account index itself."""
    return not obj.feeds_accounts and PRIMARY_COMPANY_PROPERTY in obj.extra_properties


def email_keyed(obj: CrmObject, id_property: str) -> bool:
    """Keyed by `email`, one of the object's built-in ids: compared case-insensitively, as the
    sync keys it, and HubSpot deduplicates by it without marking it unique."""
    return id_property == EMAIL and EMAIL in obj.builtin_ids
