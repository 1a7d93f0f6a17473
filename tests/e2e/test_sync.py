"""`meltano run tap-hubspot-gather target-gather`: first run, then incremental, per ID choice."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Pipeline

SEED = {"companies": 40, "contacts": 300, "seed": 11}
ID_CHOICES = [
    pytest.param("gather_account_id", "gather_user_id", id="internal-ids"),
    pytest.param("companyId", "vid", id="hubspot-ids"),
    pytest.param("gather_account_id", "email", id="email-user-id"),
]


def route_total(stats: dict[str, Any], method: str, suffix: str) -> int:
    """Requests served on routes whose template ends with `suffix`."""
    routes = stats.get("requests", stats)["routes"]
    return sum(
        data["total"]
        for route, data in routes.items()
        if route.startswith(method + " ") and route.endswith(suffix)
    )


def change_hubspot(pipeline: Pipeline) -> dict[str, int]:
    """Update, create and archive a few records; returns how many users should travel."""
    hubspot = pipeline.hubspot
    contacts = [
        c
        for c in hubspot.dump("contacts")
        if c["properties"].get("firstname")
        and c["properties"].get("lastname")
        and c["properties"].get("email")
        and c["properties"].get("gather_user_id")
    ]
    companies = [c for c in hubspot.dump("companies") if c["properties"].get("gather_account_id")]
    for contact in contacts[:4]:
        hubspot.update("contacts", contact["id"], {"city": "Lisbon", "country": "Portugal"})
    hubspot.update("companies", companies[0]["id"], {"name": "Renamed Ltd"})
    for n in range(2):
        hubspot.create(
            "contacts",
            {
                "firstname": f"New{n}",
                "lastname": "Person",
                "email": f"New{n}.Person@Example.COM",
                "gather_user_id": f"U-NEW-{n}",
            },
            primary_company_id=companies[1]["id"],
        )
    for contact in contacts[4:6]:
        hubspot.archive("contacts", contact["id"])
    return {"users_upserted": 6, "users_deleted": 2, "accounts_upserted": 1}


@pytest.mark.e2e
@pytest.mark.parametrize(("account_id_property", "user_id_property"), ID_CHOICES)
def test_first_then_incremental_run_leave_gather_exactly_as_hubspot_implies(
    pipeline: Pipeline, account_id_property: str, user_id_property: str
) -> None:
    pipeline.account_id_property = account_id_property
    pipeline.user_id_property = user_id_property
    pipeline.hubspot.seed(**SEED)

    pipeline.run()
    accounts, users = pipeline.expected()
    assert len(accounts) > 20
    assert len(users) > 150
    assert pipeline.held() == (accounts, users)

    pipeline.hubspot.reset_stats()
    pipeline.gather.reset_stats()
    changed = change_hubspot(pipeline)
    # Without the relink sweep, which lists every contact on purpose (its cost: bench
    # scenario 7; test_identity.py runs with it).
    pipeline.run(TAP_HUBSPOT_GATHER_RELINK_SWEEP="false")

    assert pipeline.held() == pipeline.expected()
    hubspot_stats = pipeline.hubspot.stats()
    assert route_total(hubspot_stats, "POST", "/search") >= 1
    # The incremental run does not list every live record again (only the archived pass).
    listed = route_total(hubspot_stats, "GET", "/crm/objects/{version}/{object_type}")
    assert listed <= 4, hubspot_stats
    gather_stats = pipeline.gather.stats()
    posted = route_total(gather_stats, "POST", "/records")
    deleted = route_total(gather_stats, "DELETE", "/records/{id}")
    assert posted == changed["users_upserted"] + changed["accounts_upserted"]
    assert deleted == changed["users_deleted"]


@pytest.mark.e2e
def test_unchanged_portal_sends_nothing_on_the_second_run(pipeline: Pipeline) -> None:
    pipeline.hubspot.seed(**SEED)
    pipeline.run()
    pipeline.gather.reset_stats()
    pipeline.run()
    assert pipeline.gather.stats()["requests"]["total"] == 0
    assert pipeline.held() == pipeline.expected()
