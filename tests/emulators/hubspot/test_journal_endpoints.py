"""The webhooks journal's endpoints over HTTP: shapes (against the 2026-03 spec's schemas),
offsets, 204 and 404, batches, the local journal, retention and the pre-signed file URLs."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.emulators.hubspot.journal_client import JOURNAL, LOCAL, Journal
from tests.emulators.hubspot.journal_schemas import assert_conforms


@pytest.fixture
def journal(emulator: HubSpotEmulator) -> Journal:
    """The app, subscribed to everything a tap needs in the emulator's portal."""
    app = Journal(emulator)
    app.subscribe_all()
    return app


def _files(journal: Journal, count: int) -> list[str]:
    """Write `count` journal files (one contact each, published by a read); their offsets."""
    offsets = []
    for i in range(count):
        journal.emulator.create("contacts", {"email": f"c{i}-{uuid.uuid4().hex[:6]}@ex.com"})
        journal.emulator.publish_journal()
        offsets.append(journal.emulator.journal_files()[-1]["offset"])
    return offsets


def test_empty_journal_answers_204_without_a_body(journal: Journal) -> None:
    for path in ("/earliest", "/latest"):
        response = journal.get(JOURNAL + path)
        assert response.status_code == 204
        assert response.content == b""


def test_fetch_response_shape_and_file_content(journal: Journal) -> None:
    contact = journal.emulator.create("contacts", {"email": "a@ex.com", "firstname": "Ann"})
    response = journal.get(JOURNAL + "/latest")
    assert response.status_code == 200
    body = response.json()
    assert_conforms("JournalFetchResponse", body)
    assert set(body) == {"currentOffset", "expiresAt", "url"}
    file = journal.read_file(body["url"])
    assert set(file) == {"offset", "journalEvents", "publishedAt"}
    assert file["offset"] == body["currentOffset"]
    (event,) = file["journalEvents"]
    assert event["action"] == "CREATE"
    assert event["objectId"] == int(contact["id"])
    assert event["objectTypeId"] == "0-1"
    assert event["portalId"] == journal.portal_id


def test_next_walks_offsets_in_order_then_204(journal: Journal) -> None:
    offsets = _files(journal, 3)
    first = journal.get(JOURNAL + "/earliest").json()["currentOffset"]
    assert first == offsets[0]
    walked = [first]
    while True:
        response = journal.get(JOURNAL + f"/offset/{walked[-1]}/next")
        if response.status_code == 204:
            assert response.content == b""
            break
        assert response.status_code == 200
        walked.append(response.json()["currentOffset"])
    assert walked == offsets
    assert journal.get(JOURNAL + "/latest").json()["currentOffset"] == offsets[-1]


def test_unknown_offset_is_404_with_hubspot_error(journal: Journal) -> None:
    _files(journal, 1)
    response = journal.get(JOURNAL + f"/offset/{uuid.uuid4()}/next")
    assert response.status_code == 404
    assert_conforms("Error", response.json())
    assert "does not exist" in response.json()["message"]


def test_retention_expires_offsets_against_the_emulator_clock(journal: Journal) -> None:
    old = _files(journal, 2)
    journal.emulator.time_travel(days=2)
    new = _files(journal, 1)
    assert journal.get(JOURNAL + f"/offset/{old[0]}/next").json()["currentOffset"] == old[1]
    journal.emulator.time_travel(days=1, seconds=60)  # the first two are now 3 days + 1 min old
    response = journal.get(JOURNAL + f"/offset/{old[0]}/next")
    assert response.status_code == 404
    assert "has expired" in response.json()["message"]
    assert journal.get(JOURNAL + "/earliest").json()["currentOffset"] == new[0]


def test_retention_is_a_switch(journal: Journal) -> None:
    journal.emulator.set_journal(retention_days=0.5)
    (offset,) = _files(journal, 1)
    journal.emulator.time_travel(days=0.6)
    assert journal.get(JOURNAL + f"/offset/{offset}/next").status_code == 404
    assert journal.get(JOURNAL + "/earliest").status_code == 204


def test_batch_endpoints(journal: Journal) -> None:
    offsets = _files(journal, 5)
    earliest = journal.get(JOURNAL + "/batch/earliest/2").json()
    assert_conforms("BatchResponseJournalFetchResponse", earliest)
    assert earliest["status"] == "COMPLETE"
    assert [r["currentOffset"] for r in earliest["results"]] == offsets[:2]
    latest = journal.get(JOURNAL + "/batch/latest/3").json()
    assert [r["currentOffset"] for r in latest["results"]] == offsets[2:]  # oldest first
    following = journal.get(JOURNAL + f"/batch/{offsets[1]}/next/100").json()
    assert [r["currentOffset"] for r in following["results"]] == offsets[2:]
    none = journal.get(JOURNAL + f"/batch/{offsets[-1]}/next/10")
    assert none.status_code == 200
    assert none.json()["results"] == []
    assert journal.get(JOURNAL + f"/batch/{uuid.uuid4()}/next/10").status_code == 404
    for bad in ("0", "101", "x"):
        response = journal.get(JOURNAL + f"/batch/earliest/{bad}")
        assert response.status_code == 400, bad
        assert_conforms("Error", response.json())
    for result in following["results"]:
        assert journal.read_file(result["url"])["offset"] == result["currentOffset"]


def test_batch_read_returns_entries_at_offsets_and_207_for_missing(journal: Journal) -> None:
    offsets = _files(journal, 3)
    ok = journal.request("POST", JOURNAL + "/batch/read", {"inputs": offsets[::-1][:2]})
    assert ok.status_code == 200
    assert_conforms("BatchResponseJournalFetchResponse", ok.json())
    assert {r["currentOffset"] for r in ok.json()["results"]} == set(offsets[1:])
    missing = str(uuid.uuid4())
    partial = journal.request("POST", JOURNAL + "/batch/read", {"inputs": [offsets[0], missing]})
    assert partial.status_code == 207
    body = partial.json()
    assert_conforms("BatchResponseJournalFetchResponseWithErrors", body)
    assert [r["currentOffset"] for r in body["results"]] == [offsets[0]]
    assert body["numErrors"] == 1
    assert body["errors"][0]["context"] == {"offset": [missing]}
    too_many = journal.request("POST", JOURNAL + "/batch/read", {"inputs": offsets * 34})
    assert too_many.status_code == 400


def test_local_journal_needs_and_filters_by_install_portal(journal: Journal) -> None:
    offsets = _files(journal, 2)
    response = journal.get(LOCAL + "/earliest")
    assert response.status_code == 400
    assert "installPortalId" in response.json()["message"]
    local = journal.get(LOCAL + "/earliest", installPortalId=journal.portal_id)
    assert local.json()["currentOffset"] == offsets[0]
    nxt = journal.get(LOCAL + f"/offset/{offsets[0]}/next", installPortalId=journal.portal_id)
    assert nxt.json()["currentOffset"] == offsets[1]
    other = journal.get(LOCAL + "/latest", installPortalId=journal.portal_id + 1)
    assert other.status_code == 400
    assert other.json()["subCategory"] == "APP_NOT_INSTALLED"


def test_the_2027_03_beta_paths_are_the_same(journal: Journal) -> None:
    offsets = _files(journal, 1)
    response = journal.get("/webhooks-journal/journal/2027-03-beta/latest")
    assert response.json()["currentOffset"] == offsets[0]
    assert journal.get("/webhooks-journal/journal/2025-09/latest").status_code == 404


def _url(journal: Journal) -> dict[str, Any]:
    _files(journal, 1)
    body: dict[str, Any] = journal.get(JOURNAL + "/latest").json()
    return body


def test_file_url_refuses_an_authorization_header(journal: Journal) -> None:
    url = _url(journal)["url"]
    response = journal.session.get(url, timeout=30)  # the session sends the bearer token
    assert response.status_code == 400
    assert "<Code>InvalidArgument</Code>" in response.text
    assert requests.get(url, timeout=30).status_code == 200


def test_file_url_is_signed_and_expires(journal: Journal) -> None:
    entry = _url(journal)
    tampered = entry["url"].replace("X-Amz-Expires=900", "X-Amz-Expires=9000")
    response = requests.get(tampered, timeout=30)
    assert response.status_code == 403
    assert "SignatureDoesNotMatch" in response.text
    journal.emulator.set_journal(url_lifetime_s=1)
    short = journal.get(JOURNAL + "/latest").json()
    assert requests.get(short["url"], timeout=30).status_code == 200
    time.sleep(2.1)
    expired = requests.get(short["url"], timeout=30)
    assert expired.status_code == 403
    assert "Request has expired" in expired.text


def test_file_past_retention_is_gone(journal: Journal) -> None:
    url = _url(journal)["url"]
    journal.emulator.time_travel(days=3.1)
    journal.emulator.publish_journal()  # drops expired files, as any journal read does
    response = requests.get(url, timeout=30)
    assert response.status_code == 404
    assert "NoSuchKey" in response.text


def test_journal_calls_are_exempt_from_the_crm_rate_limits(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    hubspot_emulator.set_config(burst_limit=2)
    journal = Journal(hubspot_emulator)
    for _ in range(5):
        assert journal.get(JOURNAL + "/latest").status_code == 204


@pytest.mark.hubspot_emulator(legacy_apis=False)
def test_the_journal_is_served_when_the_legacy_apis_are_retired(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    journal = Journal(hubspot_emulator)
    journal.subscribe_all()
    hubspot_emulator.create("contacts", {"email": "a@ex.com"})
    events, _ = journal.events_after(None)
    assert [e["action"] for e in events] == ["CREATE"]
