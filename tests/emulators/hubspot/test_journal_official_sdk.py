"""HubSpot's official date-versioned Python SDK (`hubspot-sdk`, Apache-2.0, "generated from our
OpenAPI spec") drives the emulator's webhooks journal and subscriptions unmodified, and every
JSON body it receives matches the SDK's models (checked field by field as in
test_openapi_conformance_dated.py: required fields present, no undeclared ones, declared types
and literals). The SDK folds the spec's 207 `...WithErrors` schema into the 200 model; the 207
body is checked against the spec's `...WithErrors` schema as written in journal_schemas.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import hubspot_sdk
import pytest
import requests

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.emulators.hubspot.journal_client import OBJECT_ACTIONS, client_credentials_token
from tests.emulators.hubspot.journal_schemas import assert_conforms
from tests.emulators.hubspot.test_openapi_conformance_dated import SdkChecker, sdk_model

FETCH = "shared.journal_fetch_response.JournalFetchResponse"
BATCH = "shared.batch_response_journal_fetch_response.BatchResponseJournalFetchResponse"
SUBSCRIPTION = "webhooks_journal.journal_subscription_response.JournalSubscriptionResponse"
SUBSCRIPTIONS = (
    "webhooks_journal.journal_collection_response_subscription_response_no_paging."
    "JournalCollectionResponseSubscriptionResponseNoPaging"
)
FILTER_CREATED = "shared.filter_create_response.FilterCreateResponse"
FILTER = "shared.filter_response.FilterResponse"


@pytest.fixture
def sdk(emulator: HubSpotEmulator) -> Iterator[hubspot_sdk.HubSpot]:
    client = hubspot_sdk.HubSpot(
        access_token=client_credentials_token(emulator), base_url=emulator.url, max_retries=0
    )
    yield client
    client.close()


def _conforms(model: str, body: Any) -> None:
    checker = SdkChecker()
    checker.check_model(body, sdk_model(model), "$")
    assert not checker.errors, "\n".join(checker.errors)


def test_subscriptions_and_filters_through_the_sdk(
    emulator: HubSpotEmulator, sdk: hubspot_sdk.HubSpot
) -> None:
    portal = int(emulator.call("GET", "/portal")["hub_id"])
    subscriptions = sdk.webhooks_journal.subscriptions
    raw = subscriptions.with_raw_response.create(
        subscription_type="OBJECT",
        portal_id=portal,
        object_type_id="0-1",
        actions=OBJECT_ACTIONS,  # type: ignore[arg-type]
        object_ids=[],
        properties=["email"],
    )
    _conforms(SUBSCRIPTION, raw.http_response.json())
    created = raw.parse()
    assert created.portal_id == portal
    assert created.properties == ["email"]
    assert subscriptions.get(created.id).id == created.id
    listed = subscriptions.with_raw_response.list()
    _conforms(SUBSCRIPTIONS, listed.http_response.json())
    assert [s.id for s in listed.parse().results] == [created.id]

    filters = subscriptions.filters
    condition = {
        "filterType": "CRM_OBJECT_PROPERTY",
        "property": "city",
        "operator": "EQ",
        "value": "Oslo",
    }
    made = filters.with_raw_response.create(
        subscription_id=created.id,
        filter={"conditions": [condition]},  # type: ignore[list-item]
    )
    _conforms(FILTER_CREATED, made.http_response.json())
    filter_id = made.parse().filter_id
    one = filters.with_raw_response.get(filter_id)
    _conforms(FILTER, one.http_response.json())
    assert [f.id for f in filters.list(created.id)] == [filter_id]
    filters.delete(filter_id)

    subscriptions.delete(created.id)
    with pytest.raises(hubspot_sdk.NotFoundError):
        subscriptions.get(created.id)
    subscriptions.delete_for_portal(portal)


def test_the_journal_through_the_sdk(emulator: HubSpotEmulator, sdk: hubspot_sdk.HubSpot) -> None:
    portal = int(emulator.call("GET", "/portal")["hub_id"])
    sdk.webhooks_journal.subscriptions.create(
        subscription_type="OBJECT",
        portal_id=portal,
        object_type_id="0-1",
        actions=OBJECT_ACTIONS,  # type: ignore[arg-type]
        object_ids=[],
        properties=[],
    )
    journal = sdk.webhooks_journal.journal
    assert journal.get_earliest().status_code == 204
    offsets = []
    for i in range(3):
        emulator.create("contacts", {"firstname": f"C{i}"})
        entry = journal.get_earliest() if not offsets else journal.get_next_from_offset(offsets[-1])
        body = entry.json()
        _conforms(FETCH, body)
        offsets.append(body["currentOffset"])
        file = requests.get(body["url"], timeout=30).json()  # no Authorization header
        assert [e["action"] for e in file["journalEvents"]] == ["CREATE"]
    assert journal.get_next_from_offset(offsets[-1]).status_code == 204

    batch = journal.batch
    for raw in (
        batch.with_raw_response.get_earliest(10),
        batch.with_raw_response.get_latest(2),
        batch.with_raw_response.get_from_offset(10, offset=offsets[0]),
        batch.with_raw_response.get(inputs=offsets),
    ):
        _conforms(BATCH, raw.http_response.json())
    assert [r.current_offset for r in batch.get_latest(2).results] == offsets[1:]
    assert [
        r.current_offset for r in batch.get_from_offset(10, offset=offsets[0]).results
    ] == offsets[1:]

    partial = batch.with_raw_response.get(inputs=[offsets[0], str(uuid.uuid4())])
    assert partial.http_response.status_code == 207
    assert_conforms("BatchResponseJournalFetchResponseWithErrors", partial.http_response.json())
    with pytest.raises(hubspot_sdk.NotFoundError):
        journal.get_next_from_offset(str(uuid.uuid4()))

    local = sdk.webhooks_journal.journal_local
    earliest = local.get_earliest(install_portal_id=portal).json()
    assert earliest["currentOffset"] == offsets[0]
    local_batch = local.batch.with_raw_response.get_earliest(10, install_portal_id=portal)
    _conforms(BATCH, local_batch.http_response.json())
