"""What Gather must hold after a sync, computed from the HubSpot emulator's own dump.

This is deliberately written from the product page's rules, not from the tap's or target's code:
companies become accounts (`name`, `city`, `country`), contacts become users (`first_name`,
`last_name`, `email`, `city`, `country`, `account_id` of the primary company), keyed by the
configured ID property; records without an ID, or missing a required trait, are not synced;
null values leave Gather's traits alone (the target's default `null_policy: omit`), and
emails are trimmed and lower-cased (the `email` trait of users). A user's `account_id` is the
account ID of its contact's *current* primary company, and no link at all when there is none
(cleared in Gather whatever `null_policy` says).

`gather_problems` compares what Gather holds with that, in either sync mode:
- **mirror**: Gather holds exactly the live HubSpot records with IDs, nothing else;
- **keep**: every live record is exact; any other Gather record must be one the sync reported as
  left behind (its left-behind file), never one it forgot.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal

Mode = Literal["keep", "mirror"]
Records = dict[str, dict[str, Any]]

ACCOUNT_TRAITS = {"name": "name", "city": "city", "country": "country"}
USER_TRAITS = {
    "first_name": "firstname",
    "last_name": "lastname",
    "email": "email",
    "city": "city",
    "country": "country",
}
REQUIRED = {"account": ("name",), "user": ("first_name", "last_name", "email")}


def record_id(record: dict[str, Any], id_property: str, hubspot_alias: str) -> str | None:
    """The Gather ID of a HubSpot record under the configured ID property, normalized."""
    if id_property == hubspot_alias:
        return str(record["id"])
    value = record["properties"].get(id_property)
    if value is None:
        return None
    text = str(value).strip()
    if id_property == "email":
        text = text.lower()
    return text or None


def _traits(record: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    values = {trait: record["properties"].get(prop) for trait, prop in mapping.items()}
    return {trait: value for trait, value in values.items() if value is not None}


def _valid(model: str, traits: dict[str, Any]) -> bool:
    return all(str(traits.get(name) or "").strip() for name in REQUIRED[model])


def expected_gather(
    companies: list[dict[str, Any]],
    contacts: list[dict[str, Any]],
    account_id_property: str,
    user_id_property: str,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """`(accounts, users)` as `{id: traits}` that Gather must hold for these live records."""
    account_of_company: dict[str, str] = {}
    accounts: dict[str, dict[str, Any]] = {}
    for company in sorted(companies, key=lambda c: int(c["id"])):
        account_id = record_id(company, account_id_property, "companyId")
        if account_id is None:
            continue
        account_of_company[str(company["id"])] = account_id
        traits = _traits(company, ACCOUNT_TRAITS)
        if _valid("account", traits):
            accounts[account_id] = traits
    users: dict[str, dict[str, Any]] = {}
    for contact in sorted(contacts, key=lambda c: int(c["id"])):
        user_id = record_id(contact, user_id_property, "vid")
        if user_id is None:
            continue
        traits = _traits(contact, USER_TRAITS)
        if isinstance(traits.get("email"), str):
            traits["email"] = traits["email"].strip().lower()  # Gather's user email, normalized
        primary = contact.get("primary_company_id")
        if primary is not None and str(primary) in account_of_company:
            traits["account_id"] = account_of_company[str(primary)]
        if _valid("user", traits):
            users[user_id] = traits
    return accounts, users


def without_cleared_links(users: Records) -> Records:
    """Users with a cleared (`null`) `account_id` shown as having none: both mean no link."""
    return {
        user_id: {k: v for k, v in traits.items() if not (k == "account_id" and v is None)}
        for user_id, traits in users.items()
    }


def gather_problems(
    expected: tuple[Records, Records],
    held: tuple[Records, Records],
    mode: Mode,
    reported: Collection[tuple[str, str]] = (),
) -> list[str]:
    """Every way Gather (`held`: accounts, users) differs from what HubSpot implies, as lines
    naming the model and id; empty when Gather is right. `reported`: `(model, gather id)` pairs
    the sync reported as left behind (allowed to remain in keep mode only)."""
    problems: list[str] = []
    for model, want, have in (
        ("account", expected[0], held[0]),
        ("user", expected[1], without_cleared_links(held[1])),
    ):
        for record_id, traits in sorted(want.items()):
            if record_id not in have:
                problems.append(f"{model} {record_id!r} missing (want {traits})")
            elif have[record_id] != traits:
                problems.append(f"{model} {record_id!r} is {have[record_id]}, want {traits}")
        for record_id in sorted(set(have) - set(want)):
            if mode == "keep" and (model, record_id) in reported:
                continue
            why = "not left behind by any report" if mode == "keep" else "HubSpot no longer has it"
            problems.append(f"{model} {record_id!r} should not be in Gather ({why})")
    return problems
