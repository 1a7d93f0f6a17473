"""Two HubSpot portals feeding one Gather workspace (an EU and a US portal of one company).

Both emulated portals are seeded alike, so their HubSpot record ids collide (a record id is
unique within its portal only); portal B's internal IDs are prefixed, as two portals of one
company hold different customers. `changes_in` edits one portal between runs: a key change,
a cleared ID, archived contacts, a new contact and a renamed company, few enough for the
default delete cap. `expected_union` is what Gather must hold: both portals' records.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.expected import Records, expected_gather

HUB_IDS = (24_680_135, 13_579_246)
SEED = {"companies": 20, "contacts": 80}
SEEDS = (31, 32)
PREFIX_B = "EU-"
MIN_COLLISIONS = 10  # contacts with the same HubSpot id in both portals
ACCOUNT_ID, USER_ID = "gather_account_id", "gather_user_id"


def seed_portals(first: Any, second: Any) -> None:
    """Seed both; portal B's internal IDs get a prefix (its HubSpot ids still collide)."""
    first.seed(**SEED, seed=SEEDS[0])
    second.seed(**SEED, seed=SEEDS[1])
    for object_type, prop in (("companies", ACCOUNT_ID), ("contacts", USER_ID)):
        for record in second.dump(object_type):
            value = record["properties"].get(prop)
            if value:
                second.update(object_type, record["id"], {prop: f"{PREFIX_B}{value}"})
    first_ids = {c["id"] for c in first.dump("contacts")}
    second_ids = {c["id"] for c in second.dump("contacts")}
    assert len(first_ids & second_ids) >= MIN_COLLISIONS, "the portals' ids must collide"


def _valid_contacts(hubspot: Any) -> list[dict[str, Any]]:
    return [
        c
        for c in hubspot.dump("contacts")
        if all(c["properties"].get(p) for p in ("firstname", "lastname", "email", USER_ID))
    ]


def changes_in(hubspot: Any) -> None:
    """A key change, a cleared ID, two archived contacts, a new contact, a renamed company."""
    contacts = _valid_contacts(hubspot)
    changed, cleared, *archived = contacts[:4]
    hubspot.update("contacts", changed["id"], {USER_ID: f"U-moved-{changed['id']}"})
    hubspot.update("contacts", cleared["id"], {USER_ID: None})
    for contact in archived:
        hubspot.archive("contacts", contact["id"])
    hubspot.create(
        "contacts",
        {
            "firstname": "Nova",
            "lastname": "Newcomer",
            "email": "nova@example.com",
            USER_ID: "U-new",
        },
    )
    company = next(c for c in hubspot.dump("companies") if c["properties"].get(ACCOUNT_ID))
    hubspot.update("companies", company["id"], {"name": "Renamed Holdings"})


def expected_union(*portals: Any) -> tuple[Records, Records]:
    """What Gather must hold: every portal's accounts and users (their IDs never overlap)."""
    accounts: Records = {}
    users: Records = {}
    for hubspot in portals:
        mine = expected_gather(
            hubspot.dump("companies"), hubspot.dump("contacts"), ACCOUNT_ID, USER_ID
        )
        assert not set(mine[0]) & set(accounts), "the portals' account IDs overlap"
        assert not set(mine[1]) & set(users), "the portals' user IDs overlap"
        accounts.update(mine[0])
        users.update(mine[1])
    return accounts, users
