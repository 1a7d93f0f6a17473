"""The scanner and its SQLite spill, below the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.check.idstore import IdStore
from tap_hubspot_gather.check.report import ObjectCheck
from tap_hubspot_gather.check.scan import PortalScanner
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.objects import COMPANIES, CONTACTS
from tap_hubspot_gather.properties import fetch_definitions
from tests.check.conftest import CheckRun


def _scanner(settings: dict[str, Any], store: IdStore, **ids: str) -> PortalScanner:
    client = HubSpotClient.from_config(settings)
    definitions = {t: fetch_definitions(client, t) for t in ("companies", "contacts")}
    return PortalScanner(
        client,
        definitions,
        store,
        id_properties={"companies": ids["account"], "contacts": ids["user"]},
    )


def test_companies_created_after_the_companies_scan_are_read_by_id(
    hubspot: HubSpotEmulator, settings: dict[str, Any], tmp_path: Path
) -> None:
    """A contact may name a company the companies scan never saw (created meanwhile)."""
    with_id = hubspot.create("companies", {"gather_account_id": "A-1"})["id"]
    without = hubspot.create("companies", {"name": "no id yet"})["id"]
    linked = hubspot.create("contacts", {"gather_user_id": "U-1"}, company_ids=[with_id])["id"]
    unlinked = hubspot.create("contacts", {"gather_user_id": "U-2"}, company_ids=[without])["id"]
    hubspot.reset_stats()

    with IdStore(tmp_path) as store:
        scanner = _scanner(settings, store, account="gather_account_id", user="gather_user_id")
        unscanned = ObjectCheck("companies", scanner.property_check(COMPANIES))
        contacts = scanner.check_object(CONTACTS, unscanned)

    assert contacts.links is not None
    assert contacts.links.company_without_account_id == 1
    assert contacts.links.company_without_account_id_sample == [unlinked]
    assert contacts.links.companies_without_account_id_sample == [without]
    assert linked not in contacts.links.company_without_account_id_sample
    routes = hubspot.stats()["routes"]
    assert routes["POST /crm/objects/{version}/{object_type}/batch/read"]["total"] == 1, routes


def test_emails_differing_only_in_case_are_one_duplicate(tmp_path: Path) -> None:
    """HubSpot refuses such contacts on create (so does the emulator), but imports and old
    data carry them; the spill compares emails as the sync keys them."""
    raw = ["Ann@Example.com", "ann@example.com", "ANN@EXAMPLE.COM", "bob@example.com"]
    rows = [
        PortalScanner._row({"id": str(i), "properties": {"email": e}}, "email", False, True)
        for i, e in enumerate(raw, start=1)
    ]
    with IdStore(tmp_path) as store:
        store.add("contacts", rows)
        found = store.duplicates("contacts", max_groups=10, max_ids=10)

    assert (found.values, found.records) == (1, 3)
    group = found.groups[0]
    assert group.value == "ann@example.com"
    assert group.hubspot_ids == ["1", "2", "3"]
    assert group.raw_values == raw[:3]


def test_duplicate_listing_is_capped_but_counts_are_exact(tmp_path: Path) -> None:
    rows = [
        PortalScanner._row({"id": str(i), "properties": {"ref": f"R-{i % 7}"}}, "ref", False, False)
        for i in range(1, 71)
    ]
    with IdStore(tmp_path) as store:
        store.add("companies", rows)
        found = store.duplicates("companies", max_groups=3, max_ids=4)

    assert (found.values, found.records) == (7, 70)
    assert len(found.groups) == 3
    assert all(g.count == 10 and len(g.hubspot_ids) == 4 for g in found.groups)
    assert found.groups[0].value == "R-1"  # ties: the value seen first comes first
    assert found.groups[0].hubspot_ids == ["1", "8", "15", "22"]


def test_the_id_database_is_deleted_after_the_check(
    hubspot: HubSpotEmulator,
    settings: dict[str, Any],
    run_check: Callable[..., CheckRun],
    tmp_path: Path,
) -> None:
    """ID values may be emails: nothing of them stays on disk."""
    hubspot.create("contacts", {"email": "secret.person@example.com"})
    work = tmp_path / "work"
    work.mkdir()
    settings |= {"user_id_property": "email"}

    run = run_check(settings, "--quiet", "--work-dir", str(work))

    assert run.code == 0, run.stdout
    assert list(work.iterdir()) == []
