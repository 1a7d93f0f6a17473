"""A hostile HubSpot portal through `meltano run`: junk in typed properties, ID values with
URL syntax, whitespace and odd unicode, hostile text in every trait. The sync neither crashes
nor loses a record, Gather holds exactly what HubSpot implies, and archiving such a record
deletes exactly it (URL-encoded DELETE path)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import Pipeline

ARABIC = "\u0645\u0631\u062d\u0628\u0627"  # "marhaba", right-to-left
HOSTILE_TEXT = f'🚀 \u202e{ARABIC}\u202c nul \x00 bell \x07 esc \x1b[0m "quoted" back\\slash'
ODD_IDS = [
    "a/b",
    "q?x=1&y=2",
    "100%",
    "50%2F",
    "with space",
    "  padded  ",
    ".",
    "..",
    "v1.0.",
    "#frag",
    "é/ü",
    "'; DROP TABLE accounts;--",
    "\u202eRTL-id",
]
# Junk HubSpot returns in typed properties: it must not crash the sync.
JUNK = {
    "numberofemployees": "N/A",
    "annualrevenue": "1,000,000",
    "industry": "NOT_AN_OPTION",
    "contract_start_date": "not a date",
}
# Every property of both streams, so the junk travels through the tap's typing too.
SELECT_ALL = json.dumps(["companies.*", "contacts.*"])


def build_hostile_portal(pipeline: Pipeline) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Odd-id companies, one odd-id contact each, on top of a small seeded portal."""
    hubspot = pipeline.hubspot
    hubspot.seed(companies=8, contacts=40, seed=7)
    companies = []
    for n, odd in enumerate(ODD_IDS):
        created = hubspot.create(
            "companies",
            {
                "name": f"{HOSTILE_TEXT} {n}",
                "city": "\u05ea\u05dc \u05d0\u05d1\u05d9\u05d1",
                "gather_account_id": odd,
                **JUNK,
            },
        )
        person = hubspot.create(
            "contacts",
            {
                "firstname": HOSTILE_TEXT,
                "lastname": "\u0644\u0648\u0631\u0627",
                "email": f"  Odd.{n}@Example.COM ",
                "gather_user_id": odd,
                "gather_signup_date": "31/02/2024",
            },
            primary_company_id=created["id"],
        )
        companies.append((created, person))
    return companies


@pytest.mark.e2e
def test_a_hostile_portal_syncs_exactly_and_odd_ids_are_deleted_exactly(
    pipeline: Pipeline,
) -> None:
    companies = build_hostile_portal(pipeline)
    # Deletes a third of the portal on purpose: above the default delete cap.
    env = {"TAP_HUBSPOT_GATHER__SELECT": SELECT_ALL, "TARGET_GATHER_DELETE_CAP_PERCENT": "100"}

    pipeline.run(**env)

    accounts, users = pipeline.held()
    assert (accounts, users) == pipeline.expected()
    for odd in ODD_IDS:
        assert odd.strip() in accounts, odd
        assert users[odd.strip()]["account_id"] == odd.strip()
    assert accounts["a/b"]["name"].startswith(HOSTILE_TEXT)

    for company, person in companies[:6]:
        pipeline.hubspot.archive("contacts", person["id"])
        pipeline.hubspot.archive("companies", company["id"])
    pipeline.run(**env)

    accounts, users = pipeline.held()
    assert (accounts, users) == pipeline.expected()
    gone = {odd.strip() for odd in ODD_IDS[:6]}
    assert not gone & set(accounts)
    assert not gone & set(users)
    assert {odd.strip() for odd in ODD_IDS[6:]} <= set(accounts) & set(users)
