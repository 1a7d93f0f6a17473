"""The seeded generator: deterministic, realistic, with the traps the tap must survive."""

from __future__ import annotations

from collections import Counter

import pytest

from emulators.hubspot.pytest_plugin import AdminCallError, HubSpotEmulator


def test_same_options_give_identical_data(emulator: HubSpotEmulator) -> None:
    emulator.seed(companies=20, contacts=100, seed=5)
    first = (emulator.dump("companies"), emulator.dump("contacts"))
    emulator.seed(companies=20, contacts=100, seed=5)
    assert (emulator.dump("companies"), emulator.dump("contacts")) == first
    emulator.seed(companies=20, contacts=100, seed=6)
    assert emulator.dump("contacts") != first[1]


def test_seeded_contacts_have_realistic_messy_values(emulator: HubSpotEmulator) -> None:
    summary = emulator.seed(companies=50, contacts=1000, seed=1, id_share=0.8, duplicate_share=0.2)
    assert summary["contacts"] == 1000
    contacts = emulator.dump("contacts")
    props = [c["properties"] for c in contacts]
    emails = [p["email"] for p in props if "email" in p]
    assert 0 < len(emails) < 1000  # some missing
    assert any(e != e.lower() for e in emails)  # mixed case
    assert len({e.lower() for e in emails}) == len(emails)  # unique ignoring case
    assert any(not p.get("firstname") for p in props)
    assert any(
        any(ord(ch) > 127 for ch in p.get("firstname", "") + p.get("lastname", "")) for p in props
    )
    share = sum("gather_user_id" in p for p in props) / 1000
    assert 0.7 < share < 0.9
    assert len({p["gather_user_id"] for p in props if "gather_user_id" in p}) == sum(
        "gather_user_id" in p for p in props
    )
    legacy = Counter(p["legacy_user_ref"] for p in props if "legacy_user_ref" in p)
    assert max(legacy.values()) > 1  # duplicates on the non-unique legacy id
    counts = Counter(len(c["company_ids"]) for c in contacts)
    assert set(counts) == {0, 1, 2, 3}
    for contact in contacts:
        primary = contact["primary_company_id"]
        assert (primary is None) == (not contact["company_ids"])
        assert contact["properties"].get("associatedcompanyid") == primary
    assert all(p["city"] and p["country"] for p in props)


def test_custom_properties_are_defined_and_filled(emulator: HubSpotEmulator) -> None:
    emulator.seed(companies=10, contacts=10, custom_properties=300)
    props = emulator.dump("companies")[0]["properties"]
    assert any(name.startswith("custom_property_") for name in props)


def test_bad_seed_options_are_refused(emulator: HubSpotEmulator) -> None:
    with pytest.raises(AdminCallError, match="unknown seed options: contact"):
        emulator.seed(contact=5)
    with pytest.raises(AdminCallError, match="between 0 and 1"):
        emulator.seed(id_share=2)


def test_deals_are_seeded_only_when_asked_and_leave_the_rest_unchanged(
    emulator: HubSpotEmulator,
) -> None:
    emulator.seed(companies=4, contacts=8)
    assert emulator.dump("deals") == []
    without = (emulator.dump("companies"), emulator.dump("contacts"))

    summary = emulator.seed(companies=4, contacts=8, deals=6, id_share=0.5)
    deals = emulator.dump("deals")

    assert summary["deals"] == len(deals) == 6
    assert all(d["properties"].get("hs_lastmodifieddate") for d in deals)
    assert any(d["properties"].get("gather_deal_id") for d in deals)
    emulator.seed(companies=4, contacts=8, deals=6)
    assert (emulator.dump("companies"), emulator.dump("contacts")) == without
