"""Objects are data: a third HubSpot object syncs from its declaration alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from hubspot_gather_common.ids import normalize_id
from tap_hubspot_gather.objects import OBJECTS, CrmObject, register, unregister
from tap_hubspot_gather.tap import TapHubspotGather, id_setting
from tests.tap.harness import run_tap

DEALS = CrmObject(
    object_type="deals",
    stream_name="deals",
    id_setting="deal_id_property",
    builtin_ids=("hs_object_id",),
    modified_property="hs_lastmodifieddate",
    noun="deal",
    gather_noun="deal",
)


@pytest.fixture
def deals() -> Iterator[CrmObject]:
    """The deals declaration, registered for one test only."""
    register(DEALS)
    yield DEALS
    unregister(DEALS.stream_name)


def test_a_declared_third_object_syncs_fully_then_incrementally(
    hubspot: HubSpotEmulator, config: dict[str, Any], deals: CrmObject
) -> None:
    hubspot.seed(companies=5, contacts=10, deals=30)
    dumped = {d["id"]: d for d in hubspot.dump("deals")}
    assert len(dumped) == 30

    first = run_tap(config)

    assert first.schemas["deals"]["key_properties"] == ["hs_object_id"]
    emitted = {r["id"]: r for r in first.records["deals"]}
    assert set(emitted) == set(dumped)
    for hid, record in emitted.items():
        assert record["hs_object_id"] == hid
        assert record["dealname"] == dumped[hid]["properties"].get("dealname")
        assert record["archived"] is False
    # The declared objects keep syncing as before, in declaration order.
    assert len(first.records["companies"]) == 5
    assert len(first.records["contacts"]) == 10
    streams = [line["stream"] for line in first.lines if line["type"] == "SCHEMA"]
    assert streams == [o.stream_name for o in OBJECTS]

    changed = next(iter(dumped))
    hubspot.update("deals", changed, {"dealname": "Renamed deal"})
    second = run_tap(config, state=first.last_state)

    assert [r["id"] for r in second.records["deals"]] == [changed]
    assert second.records["deals"][0]["dealname"] == "Renamed deal"
    assert second.last_state["bookmarks"]["deals"]["bookmark"]


def test_a_declared_object_is_keyed_by_its_id_setting(
    hubspot: HubSpotEmulator, config: dict[str, Any], deals: CrmObject
) -> None:
    hubspot.seed(companies=2, contacts=2, deals=20, id_share=0.7)
    dumped = {d["id"]: d for d in hubspot.dump("deals")}

    run = run_tap({**config, "deal_id_property": "gather_deal_id"})

    assert run.schemas["deals"]["key_properties"] == ["gather_deal_id"]
    keys = {r["id"]: r["gather_deal_id"] for r in run.records["deals"]}
    expected = {
        hid: normalize_id(d["properties"].get("gather_deal_id")) for hid, d in dumped.items()
    }
    assert keys == {hid: key for hid, key in expected.items() if key is not None}
    # Records without the ID go to their own stream, keyed by portal and HubSpot id.
    without = {r["id"] for r in run.records["deals_without_id"]}
    assert without == {hid for hid, key in expected.items() if key is None}
    assert without


def test_registering_an_object_twice_is_refused(deals: CrmObject) -> None:
    with pytest.raises(ValueError, match="already syncs as stream 'deals'"):
        register(deals)


def test_each_declared_object_brings_its_id_setting_into_the_settings_schema() -> None:
    properties = TapHubspotGather.config_jsonschema["properties"]
    for obj in OBJECTS:
        setting = properties[obj.id_setting]
        assert setting["default"] == obj.hubspot_id_field
        assert setting["description"] == obj.id_setting_description
    # A new declaration's setting, generated the same way (no hand-written schema entry).
    generated = id_setting(DEALS).to_dict()["deal_id_property"]
    assert generated["default"] == "hs_object_id"
    assert generated["description"] == (
        "Deal property holding the Gather deal ID, or `hs_object_id` for HubSpot's deal id."
    )
