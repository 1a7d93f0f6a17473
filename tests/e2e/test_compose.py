"""Another source (a real third-party tap from the package registry) enriches the same Gather
accounts and users as HubSpot: `meltano run tap-hubspot-gather target-gather tap-billing
target-gather`, and a re-run of either source keeps the other's traits."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Pipeline

SEED = {"companies": 20, "contacts": 120, "seed": 17}
HUBSPOT = ("tap-hubspot-gather", "target-gather")
BILLING = ("tap-billing", "target-gather")


def write_billing(folder: Path, accounts: list[str], users: list[str], plan: str) -> str:
    """Billing CSVs for these ids; returns the `files` setting of tap-billing as JSON."""
    folder.mkdir(exist_ok=True)
    with (folder / "accounts.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account_id", "plan", "mrr", "seats"])
        for n, account_id in enumerate(accounts):
            writer.writerow([account_id, plan, f"{100 + n}.50", 3 + n])
    with (folder / "users.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "last_login_at"])
        for n, user_id in enumerate(users):
            writer.writerow([user_id, f"2026-11-{1 + n % 27:02d}T09:00:00Z"])
    files = [
        {
            "path": str(folder / "accounts.csv"),
            "format": "csv",
            "table_name": "billing_accounts",
            "primary_keys": ["account_id"],
            "schema_overrides": {
                "mrr": {"type": ["number", "null"]},
                "seats": {"type": ["integer", "null"]},
            },
        },
        {
            "path": str(folder / "users.csv"),
            "format": "csv",
            "table_name": "billing_users",
            "primary_keys": ["user_id"],
        },
    ]
    return json.dumps(files)


@pytest.mark.e2e
def test_hubspot_and_billing_traits_live_together_and_survive_each_others_reruns(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    pipeline.hubspot.seed(**SEED)
    expected_accounts, expected_users = pipeline.expected()
    account_ids = sorted(expected_accounts)[:8]
    user_ids = sorted(expected_users)[:15]
    files = write_billing(tmp_path / "billing", account_ids, user_ids, plan="pro")

    pipeline.run(*HUBSPOT, *BILLING, TAP_BILLING_FILES=files)
    accounts, users = pipeline.held()
    for n, account_id in enumerate(account_ids):
        assert accounts[account_id] == {
            **expected_accounts[account_id],
            "plan": "pro",
            "mrr": 100 + n + 0.5,
            "seats": 3 + n,
        }
    for user_id in user_ids:
        assert users[user_id]["first_name"] == expected_users[user_id]["first_name"]
        assert users[user_id]["last_login_at"].startswith("2026-11-")

    # HubSpot changes and syncs alone: billing traits stay.
    company = next(
        c
        for c in pipeline.hubspot.dump("companies")
        if c["properties"].get("gather_account_id") == account_ids[0]
    )
    pipeline.hubspot.update("companies", company["id"], {"city": "Oslo"})
    pipeline.run(*HUBSPOT, TAP_BILLING_FILES=files)
    account = pipeline.gather.records("account")[account_ids[0]]
    assert (account["city"], account["plan"]) == ("Oslo", "pro")

    # Billing changes and syncs alone: HubSpot traits stay.
    files = write_billing(tmp_path / "billing", account_ids, user_ids, plan="enterprise")
    pipeline.run(*BILLING, TAP_BILLING_FILES=files)
    account = pipeline.gather.records("account")[account_ids[0]]
    assert (account["city"], account["plan"], account["name"]) == (
        "Oslo",
        "enterprise",
        expected_accounts[account_ids[0]]["name"],
    )
