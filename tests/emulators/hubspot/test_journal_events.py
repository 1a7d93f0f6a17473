"""Every change the emulator can make writes its journal events for matching subscriptions:
creates, property updates (respecting `properties`), archives, restores, merges (legacy and
new-id, with the DELETE switch), association changes (also when the contact is untouched),
privacy deletes and purges. Read as an app reads them: journal offsets and file URLs."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from emulators.hubspot.pytest_plugin import AdminCallError, HubSpotEmulator
from tests.emulators.hubspot.journal_client import OBJECT_ACTIONS, Journal

ASSOCIATION_ACTIONS = ["ASSOCIATION_ADDED", "ASSOCIATION_REMOVED"]


@pytest.fixture
def journal(emulator: HubSpotEmulator) -> Journal:
    app = Journal(emulator)
    app.subscribe_all()
    return app


class Reader:
    """Reads the journal from where it last stopped, like a tap between runs."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.offset: str | None = None

    def events(self) -> list[dict[str, Any]]:
        events, self.offset = self.journal.events_after(self.offset)
        return events


def _brief(events: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(e["action"], e["objectTypeId"], e["objectId"]) for e in events]


def test_create_update_delete_restore(journal: Journal) -> None:
    emulator, reader = journal.emulator, Reader(journal)
    contact = emulator.create(
        "contacts", {"email": "a@ex.com", "firstname": "Ann", "lastname": "Lee"}
    )
    cid = int(contact["id"])
    (created,) = reader.events()
    assert created["action"] == "CREATE"
    assert created["propertyChanges"] == {
        "email": "a@ex.com",
        "firstname": "Ann",
        "lastname": "Lee",
    }
    assert created["type"] == "crmObject"
    assert created["occurredAt"].endswith("Z")
    emulator.update("contacts", cid, {"firstname": "Anna", "lastname": None})
    (updated,) = reader.events()
    assert updated["action"] == "UPDATE"
    assert updated["propertyChanges"] == {"firstname": "Anna", "lastname": None}
    emulator.update("contacts", cid, {"firstname": "Anna", "lastname": None})  # no change
    assert reader.events() == []
    emulator.archive("contacts", cid)
    emulator.restore("contacts", cid)
    assert _brief(reader.events()) == [("DELETE", "0-1", cid), ("RESTORE", "0-1", cid)]
    company = emulator.create("companies", {"name": "Acme"})
    assert _brief(reader.events()) == [("CREATE", "0-2", int(company["id"]))]


def test_update_respects_the_subscription_properties(emulator: HubSpotEmulator) -> None:
    journal = Journal(emulator)
    journal.subscribe(
        subscriptionType="OBJECT",
        objectTypeId="0-1",
        actions=["UPDATE"],
        properties=["email", "gather_user_id"],
    )
    reader = Reader(journal)
    cid = emulator.create("contacts", {"email": "a@ex.com"})["id"]
    assert reader.events() == []  # no CREATE in the actions
    emulator.update("contacts", cid, {"firstname": "Ann"})
    assert reader.events() == []  # not a subscribed property
    emulator.update("contacts", cid, {"firstname": "Bo", "email": "b@ex.com"})
    (event,) = reader.events()
    assert event["propertyChanges"] == {"email": "b@ex.com"}


def test_object_ids_narrow_a_subscription(emulator: HubSpotEmulator) -> None:
    first = emulator.create("contacts", {"email": "a@ex.com"})["id"]
    second = emulator.create("contacts", {"email": "b@ex.com"})["id"]
    journal = Journal(emulator)
    journal.subscribe(
        subscriptionType="OBJECT", objectTypeId="0-1", actions=["UPDATE"], objectIds=[int(first)]
    )
    reader = Reader(journal)
    emulator.update("contacts", first, {"city": "Oslo"})
    emulator.update("contacts", second, {"city": "Rome"})
    assert _brief(reader.events()) == [("UPDATE", "0-1", int(first))]


def test_association_changes_that_do_not_touch_the_contact(journal: Journal) -> None:
    emulator, reader = journal.emulator, Reader(journal)
    emulator.set_config(association_changes_touch_contacts=False)
    a = int(emulator.create("companies", {"name": "A"})["id"])
    b = int(emulator.create("companies", {"name": "B"})["id"])
    contact = emulator.create("contacts", {"email": "a@ex.com"}, primary_company_id=a)
    cid = int(contact["id"])
    reader.events()
    modified = emulator.dump("contacts")[0]["updatedAt"]
    emulator.update("contacts", cid, company_ids=[b], primary_company_id=b)
    assert emulator.dump("contacts")[0]["updatedAt"] == modified  # the contact is untouched
    events = reader.events()
    assert {(e["action"], e["associatedObjectId"], e["associationTypeId"]) for e in events} == {
        ("ASSOCIATION_REMOVED", a, 279),
        ("ASSOCIATION_REMOVED", a, 1),
        ("ASSOCIATION_ADDED", b, 279),
        ("ASSOCIATION_ADDED", b, 1),
    }
    assert all(e["objectId"] == cid and e["objectTypeId"] == "0-1" for e in events)
    added = next(e for e in events if e["action"] == "ASSOCIATION_ADDED" and e["isPrimary"])
    assert added == {
        **{k: added[k] for k in ("portalId", "occurredAt")},
        "type": "crmObject",
        "action": "ASSOCIATION_ADDED",
        "objectTypeId": "0-1",
        "objectId": cid,
        "associatedObjectTypeId": "0-2",
        "associatedObjectId": b,
        "associationType": "CONTACT_TO_COMPANY",
        "fromObjectTypeId": "0-1",
        "fromObjectId": cid,
        "toObjectTypeId": "0-2",
        "toObjectId": b,
        "associationTypeId": 1,
        "associationCategory": "HUBSPOT_DEFINED",
        "isPrimary": True,
        "associationRemoved": False,
    }


def test_association_from_the_company_side(emulator: HubSpotEmulator) -> None:
    journal = Journal(emulator)
    journal.subscribe(
        subscriptionType="ASSOCIATION",
        objectTypeId="0-2",
        actions=["ASSOCIATION_ADDED"],
        associatedObjectTypeIds=["0-1"],
    )
    reader = Reader(journal)
    company = int(emulator.create("companies", {"name": "A"})["id"])
    contact = int(emulator.create("contacts", {"email": "a@ex.com"}, company_ids=[company])["id"])
    events = reader.events()
    assert {(e["objectId"], e["associatedObjectId"], e["associationTypeId"]) for e in events} == {
        (company, contact, 280),
        (company, contact, 2),
    }
    assert {e["associationType"] for e in events} == {"COMPANY_TO_CONTACT"}


def test_company_archive_writes_association_removals_and_the_touch_update(
    journal: Journal,
) -> None:
    emulator, reader = journal.emulator, Reader(journal)
    company = int(emulator.create("companies", {"name": "A"})["id"])
    cid = int(emulator.create("contacts", {"email": "a@ex.com"}, primary_company_id=company)["id"])
    reader.events()
    emulator.archive("companies", company)
    events = reader.events()
    assert ("DELETE", "0-2", company) in _brief(events)
    removed = {(e["objectId"], e["associationTypeId"]) for e in events if "associationType" in e}
    assert removed == {(cid, 1), (cid, 279)}
    update = next(e for e in events if e["action"] == "UPDATE")
    assert update["objectId"] == cid
    assert update["propertyChanges"] == {"associatedcompanyid": None}


@pytest.mark.parametrize("merge_deletes", [False, True])
def test_new_id_merge(journal: Journal, merge_deletes: bool) -> None:
    emulator, reader = journal.emulator, Reader(journal)
    emulator.set_journal(merge_deletes=merge_deletes)
    primary = int(emulator.create("contacts", {"email": "p@ex.com"})["id"])
    other = int(emulator.create("contacts", {"email": "o@ex.com"})["id"])
    reader.events()
    merged = int(emulator.merge("contacts", primary, other, new_id=True)["id"])
    events = reader.events()
    merge = events[0]
    assert merge["action"] == "MERGE"
    assert merge["objectId"] == merged
    assert merge["newObjectId"] == merged
    assert merge["primaryObjectId"] == primary
    assert merge["mergedObjectIds"] == [other]
    deletes = [e["objectId"] for e in events if e["action"] == "DELETE"]
    assert deletes == ([primary, other] if merge_deletes else [])


def test_legacy_merge(journal: Journal) -> None:
    emulator, reader = journal.emulator, Reader(journal)
    emulator.set_journal(merge_deletes=True)
    primary = int(emulator.create("companies", {"name": "P"})["id"])
    other = int(emulator.create("companies", {"name": "O"})["id"])
    reader.events()
    emulator.merge("companies", primary, other, new_id=False)
    events = reader.events()
    assert events[0]["action"] == "MERGE"
    assert events[0]["objectId"] == primary
    assert "newObjectId" not in events[0]
    assert events[0]["mergedObjectIds"] == [other]
    assert _brief(events[1:]) == [("DELETE", "0-2", other)]


def test_privacy_delete_through_hubspots_api(journal: Journal) -> None:
    emulator, reader = journal.emulator, Reader(journal)
    cid = int(emulator.create("contacts", {"email": "a@ex.com"})["id"])
    reader.events()
    response = requests.post(
        emulator.url + "/crm/objects/2026-03/contacts/gdpr-delete",
        json={"objectId": str(cid)},
        headers=emulator.auth_headers,
        timeout=30,
    )
    assert response.status_code == 204
    assert _brief(reader.events()) == [("GDPR_DELETE", "0-1", cid), ("DELETE", "0-1", cid)]


def test_purge_and_admin_privacy_delete(journal: Journal) -> None:
    emulator, reader = journal.emulator, Reader(journal)
    first = int(emulator.create("contacts", {"email": "a@ex.com"})["id"])
    second = int(emulator.create("contacts", {"email": "b@ex.com"})["id"])
    reader.events()
    emulator.purge("contacts", first)
    emulator.privacy_delete("contacts", second)
    assert _brief(reader.events()) == [
        ("DELETE", "0-1", first),
        ("GDPR_DELETE", "0-1", second),
        ("DELETE", "0-1", second),
    ]


def test_archives_past_their_retention_write_a_delete(journal: Journal) -> None:
    emulator, reader = journal.emulator, Reader(journal)
    cid = int(emulator.create("contacts", {"email": "a@ex.com"})["id"])
    emulator.archive("contacts", cid)
    reader.events()
    emulator.set_journal(retention_days=365)  # keep the journal; the archive goes after 90 days
    assert emulator.time_travel(days=91) == 1
    assert _brief(reader.events()) == [("DELETE", "0-1", cid)]


def test_merge_through_hubspots_api(journal: Journal) -> None:
    emulator, reader = journal.emulator, Reader(journal)
    primary = int(emulator.create("contacts", {"email": "p@ex.com"})["id"])
    other = int(emulator.create("contacts", {"email": "o@ex.com"})["id"])
    reader.events()
    response = requests.post(
        emulator.url + "/crm/objects/2026-03/contacts/merge",
        json={"primaryObjectId": str(primary), "objectIdToMerge": str(other)},
        headers=emulator.auth_headers,
        timeout=30,
    )
    assert response.status_code == 200
    (merge,) = reader.events()
    assert merge["action"] == "MERGE"
    assert merge["objectId"] == int(response.json()["id"])


def test_nothing_is_written_without_a_matching_subscription(emulator: HubSpotEmulator) -> None:
    journal = Journal(emulator)
    journal.subscribe(subscriptionType="OBJECT", objectTypeId="0-2", actions=OBJECT_ACTIONS)
    emulator.create("contacts", {"email": "a@ex.com"})
    emulator.touch("contacts", count=1)
    assert Reader(journal).events() == []


def test_seeding_writes_no_events_and_touch_writes_none(journal: Journal) -> None:
    journal.emulator.seed(companies=5, contacts=20)
    journal.emulator.touch("contacts")
    assert Reader(journal).events() == []


def test_filters_apply_to_creates_and_updates(emulator: HubSpotEmulator) -> None:
    journal = Journal(emulator)
    subscription = journal.subscribe(
        subscriptionType="OBJECT", objectTypeId="0-1", actions=["CREATE", "UPDATE", "DELETE"]
    )
    response = journal.request(
        "POST",
        "/webhooks-journal/subscriptions/2026-03/filters",
        {
            "subscriptionId": subscription["id"],
            "filter": {
                "conditions": [
                    {
                        "filterType": "CRM_OBJECT_PROPERTY",
                        "property": "city",
                        "operator": "EQ",
                        "value": "Oslo",
                    }
                ]
            },
        },
    )
    assert response.status_code == 200
    reader = Reader(journal)
    oslo = int(emulator.create("contacts", {"email": "a@ex.com", "city": "Oslo"})["id"])
    rome = int(emulator.create("contacts", {"email": "b@ex.com", "city": "Rome"})["id"])
    emulator.update("contacts", rome, {"firstname": "R"})
    emulator.archive("contacts", rome)  # filters do not apply to deletes
    assert _brief(reader.events()) == [("CREATE", "0-1", oslo), ("DELETE", "0-1", rome)]


def test_restore_brings_the_record_back_with_its_live_associations(journal: Journal) -> None:
    emulator, reader = journal.emulator, Reader(journal)
    kept = int(emulator.create("companies", {"name": "Kept"})["id"])
    gone = int(emulator.create("companies", {"name": "Gone"})["id"])
    cid = int(
        emulator.create(
            "contacts", {"email": "a@ex.com"}, company_ids=[gone, kept], primary_company_id=gone
        )["id"]
    )
    emulator.archive("contacts", cid)
    emulator.archive("companies", gone)
    reader.events()
    restored = emulator.restore("contacts", cid)
    assert restored["archived"] is False
    assert restored["company_ids"] == [str(kept)]
    assert restored["primary_company_id"] is None
    events = reader.events()
    assert _brief(events)[0] == ("RESTORE", "0-1", cid)
    removed = {(e["associatedObjectId"], e["associationTypeId"]) for e in events[1:]}
    assert removed == {(gone, 1), (gone, 279)}
    assert [r["id"] for r in emulator.dump("contacts")] == [str(cid)]
    with pytest.raises(AdminCallError) as caught:
        emulator.restore("contacts", cid)
    assert caught.value.status == 404


def test_restore_refuses_a_unique_value_taken_meanwhile(journal: Journal) -> None:
    emulator = journal.emulator
    cid = emulator.create("contacts", {"email": "a@ex.com"})["id"]
    emulator.archive("contacts", cid)
    emulator.create("contacts", {"email": "A@ex.com"})
    with pytest.raises(AdminCallError) as caught:
        emulator.restore("contacts", cid)
    assert caught.value.status == 409
    assert "email" in str(caught.value)


def test_company_merge_re_links_its_contacts_in_the_journal(journal: Journal) -> None:
    emulator, reader = journal.emulator, Reader(journal)
    emulator.set_config(association_changes_touch_contacts=False)
    primary = int(emulator.create("companies", {"name": "P"})["id"])
    other = int(emulator.create("companies", {"name": "O"})["id"])
    cid = int(emulator.create("contacts", {"email": "a@ex.com"}, primary_company_id=other)["id"])
    reader.events()
    merged = int(emulator.merge("companies", primary, other, new_id=True)["id"])
    events = reader.events()
    assert _brief(events[:1]) == [("MERGE", "0-2", merged)]
    moves = {
        (e["action"], e["associatedObjectId"], e["associationTypeId"])
        for e in events[1:]
        if e["objectId"] == cid
    }
    assert moves == {
        ("ASSOCIATION_REMOVED", other, 1),
        ("ASSOCIATION_REMOVED", other, 279),
        ("ASSOCIATION_ADDED", merged, 1),
        ("ASSOCIATION_ADDED", merged, 279),
    }
    assert all(e["action"] != "UPDATE" for e in events)  # the contact itself is untouched
