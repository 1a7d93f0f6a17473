"""Identity changes made in the HubSpot emulator between two runs, as a customer's portal sees
them: ID values filled, changed, cleared or moved to another record, records merged (HubSpot's
current new-id merge and the legacy one), archived, permanently deleted, contacts re-pointed
to another company without being touched.

`Portal` picks distinct, valid records for each change so that one run can carry many changes
without one hiding another. What Gather must hold afterwards is never computed here: the oracle
(`tests/e2e/expected.py`) derives it from the emulator's dump after the changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

GDPR_DELETE = "/crm/objects/2026-09/contacts/gdpr-delete"
HTTP_TIMEOUT_S = 30


@dataclass
class Portal:
    """Record picking over the HubSpot emulator's admin API for one ID choice."""

    hubspot: Any
    account_id_property: str
    user_id_property: str
    used: set[str] = field(default_factory=set)

    # --- picking ------------------------------------------------------------------------

    def account_key(self, company: dict[str, Any]) -> str | None:
        if self.account_id_property == "companyId":
            return str(company["id"])
        value = company["properties"].get(self.account_id_property)
        return str(value) if value else None

    def user_key(self, contact: dict[str, Any]) -> str | None:
        if self.user_id_property == "vid":
            return str(contact["id"])
        value = contact["properties"].get(self.user_id_property)
        return str(value) if value else None

    def _valid_contacts(self) -> list[dict[str, Any]]:
        return [
            c
            for c in self.hubspot.dump("contacts")
            if all(c["properties"].get(p) for p in ("firstname", "lastname", "email"))
            and self.user_key(c) is not None
        ]

    def take_companies(
        self, count: int, *, with_account_id: bool = True, with_contacts: bool = True
    ) -> list[dict[str, Any]]:
        """Unused named companies (with or without an account ID, with valid contacts)."""
        contacts = self._valid_contacts()
        chosen = []
        for company in self.hubspot.dump("companies"):
            if company["id"] in self.used or not company["properties"].get("name"):
                continue
            # `gather_account_id` is the property changed below, also for the companyId choice.
            has_id = bool(company["properties"].get("gather_account_id"))
            linked = any(c["primary_company_id"] == company["id"] for c in contacts)
            if has_id == with_account_id and (linked or not with_contacts):
                chosen.append(company)
                self.used.add(company["id"])
                if len(chosen) == count:
                    return chosen
        msg = f"the seeded portal has fewer than {count} such companies; seed a bigger one"
        raise AssertionError(msg)

    def take_contacts(self, count: int) -> list[dict[str, Any]]:
        """Unused valid contacts with an ID whose primary company no change touches."""
        chosen = []
        for contact in self._valid_contacts():
            primary = contact["primary_company_id"]
            if contact["id"] in self.used or primary is None or primary in self.used:
                continue
            chosen.append(contact)
            self.used.add(contact["id"])
            if len(chosen) == count:
                return chosen
        msg = f"the seeded portal has fewer than {count} such contacts; seed a bigger one"
        raise AssertionError(msg)

    # --- key changes --------------------------------------------------------------------

    def set_user_key(self, contact: dict[str, Any], value: str | None) -> bool:
        """Give a contact another ID value (None clears it); False when the ID choice has
        no editable key (`vid` is HubSpot's own id)."""
        if self.user_id_property == "vid":
            return False
        self.hubspot.update("contacts", contact["id"], {self.user_id_property: value})
        return True

    def new_user_key(self, contact: dict[str, Any], tag: str) -> str:
        """A fresh value of the user ID property for this contact."""
        if self.user_id_property == "email":
            return f"{tag}-{contact['id']}@example.org"
        return f"U-{tag}-{contact['id']}"

    def gdpr_delete(self, contact_id: str) -> None:
        """Delete a contact permanently through HubSpot's own endpoint."""
        response = requests.post(
            self.hubspot.url + GDPR_DELETE,
            json={"objectId": contact_id},
            headers=self.hubspot.auth_headers,
            timeout=HTTP_TIMEOUT_S,
        )
        assert response.status_code == 204, response.text


Change = Callable[[Portal], None]


def account_links(portal: Portal) -> None:
    """Company account IDs filled, changed and cleared (contacts untouched), a company archived,
    two companies merged into a new record."""
    hubspot = portal.hubspot
    changed, cleared, archived, merge_primary, merge_other = portal.take_companies(5)
    (filled,) = portal.take_companies(1, with_account_id=False)
    value = changed["properties"]["gather_account_id"]
    hubspot.update("companies", changed["id"], {"gather_account_id": f"{value}-CHANGED"})
    hubspot.update("companies", filled["id"], {"gather_account_id": f"A-FILLED-{filled['id']}"})
    hubspot.update("companies", cleared["id"], {"gather_account_id": None})
    hubspot.archive("companies", archived["id"])
    hubspot.merge("companies", merge_primary["id"], merge_other["id"], new_id=True)


def links_and_keys(portal: Portal) -> None:
    """`account_links`, then a contact re-pointed without being touched, a contact's ID
    changed, another's cleared, two contacts merged into a new record."""
    hubspot = portal.hubspot
    account_links(portal)
    (elsewhere,) = portal.take_companies(1)
    repointed, rekeyed, unkeyed, merge_first, merge_second = portal.take_contacts(5)
    hubspot.update("contacts", repointed["id"], primary_company_id=elsewhere["id"])
    portal.set_user_key(rekeyed, portal.new_user_key(rekeyed, "REKEYED"))
    portal.set_user_key(unkeyed, None)
    hubspot.merge("contacts", merge_first["id"], merge_second["id"], new_id=True)


def deletes_and_reuse(portal: Portal) -> None:
    """Legacy merges of companies and contacts, a company and a contact deleted permanently,
    an archived contact whose ID (and email) a new contact takes, and an ID moving from one
    contact to another (the two briefly share it, from Gather's point of view)."""
    hubspot = portal.hubspot
    legacy_primary, legacy_other, purged, home = portal.take_companies(4)
    hubspot.merge("companies", legacy_primary["id"], legacy_other["id"], new_id=False)
    hubspot.purge("companies", purged["id"])
    first, second, forgotten, archived, mover, taker = portal.take_contacts(6)
    hubspot.merge("contacts", first["id"], second["id"], new_id=False)
    portal.gdpr_delete(forgotten["id"])
    hubspot.archive("contacts", archived["id"])
    reused = {
        name: archived["properties"].get(name)
        for name in ("firstname", "lastname", "email", "gather_user_id")
    }
    # Every trait set: a trait the new contact lacked would keep the archived one's value in
    # Gather (`null_policy: omit`), which is the documented merge, not a stale link.
    new = {**reused, "city": "Porto", "country": "Portugal"}
    hubspot.create("contacts", new, primary_company_id=home["id"])
    old_key = portal.user_key(mover)
    if portal.set_user_key(mover, portal.new_user_key(mover, "MOVED")):
        portal.set_user_key(taker, old_key)
