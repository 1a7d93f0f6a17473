"""Identity over time, target side: key changes, cleared ids, merges, archives, complete passes.

Records as tap-hubspot-gather emits them (with HubSpot's own `id` and `merged_ids`), through
the real target CLI into the Gather emulator, in both sync modes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.target.conftest import TargetHarness, record, schema, state

USERS_BY_EMAIL = schema(
    "contacts",
    {
        "id": "string",
        "vid": "string",
        "email": "string",
        "firstname": "string",
        "lastname": "string",
        "city": "string",
        "primary_company_account_id": "string",
        "merged_ids": {"type": ["array", "null"], "items": {"type": "string"}},
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    },
    ["email"],
)
ARCHIVED_AT = "2026-11-30T10:00:00.000Z"


def user(hubspot_id: str, email: str | None, **extra: Any) -> dict[str, Any]:
    """A `contacts` RECORD keyed by email, as the tap emits it (`email` may be null)."""
    values = {
        "id": hubspot_id,
        "vid": hubspot_id,
        "email": email,
        "firstname": "Ada",
        "lastname": "Lovelace",
        "primary_company_account_id": None,
        "merged_ids": [],
        "_sdc_deleted_at": None,
        **extra,
    }
    return record("contacts", **values)


def left_behind(harness: TargetHarness) -> list[dict[str, Any]]:
    path = harness.root / "left-behind.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run(harness: TargetHarness, messages: list[dict[str, Any]], mode: str) -> Any:
    result = harness.run(
        [USERS_BY_EMAIL, *messages, state(n=harness.runs)],
        sync_mode=mode,
        left_behind_path=str(harness.root / "left-behind.jsonl"),
        delete_cap_percent=100,  # these few records: the cap has its own tests
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.parametrize("mode", ["keep", "mirror"])
def test_a_key_change_leaves_the_old_record_which_mirror_deletes_and_keep_reports(
    target_run: TargetHarness, mode: str
) -> None:
    run(target_run, [user("1", "old@example.com"), user("2", "other@example.com")], mode)
    second = run(target_run, [user("1", "new@example.com")], mode)

    users = target_run.emulator.records("user")
    assert "new@example.com" in users
    assert "other@example.com" in users
    assert ("old@example.com" in users) is (mode == "keep")
    counts = second.counts("user")
    lines = left_behind(target_run)
    assert [(x["id"], x["source_id"], x["reason"]) for x in lines] == [
        ("old@example.com", "1", "key_changed")
    ]
    if mode == "keep":
        assert counts["left_behind"] == 1
        assert counts["deleted"] == 0
        assert lines[0]["action"] == "reported"
        assert second.summary is not None
        assert second.summary["left_behind_sample"][0]["id"] == "old@example.com"
        # Reported once: an unchanged re-run reports nothing more.
        third = run(target_run, [user("1", "new@example.com")], mode)
        assert third.counts("user")["left_behind"] == 0
        assert len(left_behind(target_run)) == 1
    else:
        assert counts["deleted"] == 1
        assert lines[0]["action"] == "deleted"


@pytest.mark.parametrize("mode", ["keep", "mirror"])
def test_a_cleared_id_reaches_the_target_and_its_old_record_is_left_behind(
    target_run: TargetHarness, mode: str
) -> None:
    run(target_run, [user("1", "ada@example.com")], mode)
    second = run(target_run, [user("1", None)], mode)

    assert ("ada@example.com" in target_run.emulator.records("user")) is (mode == "keep")
    counts = second.counts("user")
    assert counts["no_id"] == 1
    assert counts["invalid"] == 0
    assert second.rejects == []
    assert [x["reason"] for x in left_behind(target_run)] == ["id_cleared"]


@pytest.mark.parametrize("mode", ["keep", "mirror"])
def test_merged_away_records_are_left_behind_unless_the_survivor_holds_their_id(
    target_run: TargetHarness, mode: str
) -> None:
    run(
        target_run,
        [user("1", "a@example.com"), user("2", "b@example.com"), user("3", "c@example.com")],
        mode,
    )
    # HubSpot's current merge: a new record 9 absorbs 1 and 2 and keeps 1's email.
    run(target_run, [user("9", "a@example.com", merged_ids=["1", "2"])], mode)

    users = target_run.emulator.records("user")
    assert "a@example.com" in users  # held by the live survivor: never deleted
    assert "c@example.com" in users
    assert ("b@example.com" in users) is (mode == "keep")
    assert [(x["id"], x["reason"]) for x in left_behind(target_run)] == [
        ("b@example.com", "merged")
    ]


def test_mirror_never_deletes_an_email_a_live_contact_reuses(target_run: TargetHarness) -> None:
    """An archived contact's email taken by a new contact: the live record wins, whatever
    the order the two arrive in (same batch or a later run)."""
    run(target_run, [user("1", "shared@example.com")], "mirror")
    second = run(
        target_run,
        [
            user("2", "shared@example.com", firstname="Grace"),
            user("1", "shared@example.com", _sdc_deleted_at=ARCHIVED_AT),
        ],
        "mirror",
    )
    assert target_run.emulator.records("user")["shared@example.com"]["first_name"] == "Grace"
    assert second.counts("user")["deleted"] == 0
    assert second.counts("user")["kept_live"] == 1

    third = run(
        target_run, [user("1", "shared@example.com", _sdc_deleted_at=ARCHIVED_AT)], "mirror"
    )
    assert "shared@example.com" in target_run.emulator.records("user")
    assert third.counts("user")["deleted"] == 0


@pytest.mark.parametrize("mode", ["keep", "mirror"])
def test_a_complete_pass_finds_records_the_source_no_longer_has(
    target_run: TargetHarness, mode: str
) -> None:
    run(target_run, [user(str(i), f"u{i}@example.com") for i in range(1, 5)], mode)
    version = 1_764_590_000_000
    passed = [
        {**user(str(i), f"u{i}@example.com"), "version": version} for i in (1, 3)
    ]  # 2 and 4 were deleted permanently: no endpoint shows them
    second = run(
        target_run,
        [*passed, {"type": "ACTIVATE_VERSION", "stream": "contacts", "version": version}],
        mode,
    )

    users = set(target_run.emulator.records("user"))
    expected = {"u1@example.com", "u3@example.com"}
    assert users == (
        expected | {"u2@example.com", "u4@example.com"} if mode == "keep" else expected
    )
    assert sorted((x["id"], x["reason"]) for x in left_behind(target_run)) == [
        ("u2@example.com", "not_in_source"),
        ("u4@example.com", "not_in_source"),
    ]
    assert second.counts("user")["left_behind" if mode == "keep" else "deleted"] == 2


def test_an_emptied_account_link_is_cleared_whatever_null_policy_says(
    target_run: TargetHarness,
) -> None:
    target_run.emulator  # noqa: B018 - the fixture starts it
    run(target_run, [user("1", "ada@example.com", primary_company_account_id="acct-1")], "keep")
    assert target_run.emulator.records("user")["ada@example.com"]["account_id"] == "acct-1"

    run(target_run, [user("1", "ada@example.com", primary_company_account_id=None)], "keep")

    assert target_run.emulator.records("user")["ada@example.com"].get("account_id") is None


ACCOUNTS = schema(
    "companies",
    {
        "id": "string",
        "gather_account_id": "string",
        "name": "string",
        "merged_ids": {"type": ["array", "null"], "items": {"type": "string"}},
        "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
    },
    ["gather_account_id"],
)


def account(hubspot_id: str, account_id: str, **extra: Any) -> dict[str, Any]:
    values = {"id": hubspot_id, "gather_account_id": account_id, "name": "Acme", **extra}
    return record("companies", **{"merged_ids": [], "_sdc_deleted_at": None, **values})


@pytest.mark.parametrize("mode", ["keep", "mirror"])
def test_users_of_an_archived_company_are_unlinked_although_no_contact_changed(
    target_run: TargetHarness, mode: str
) -> None:
    """HubSpot drops an archived company's associations without touching its contacts."""
    linked = [
        user(str(i), f"u{i}@example.com", primary_company_account_id="acct-1") for i in (1, 2)
    ]
    other = user("3", "u3@example.com", primary_company_account_id="acct-2")
    first = target_run.run(
        [
            ACCOUNTS,
            account("11", "acct-1"),
            account("12", "acct-2"),
            USERS_BY_EMAIL,
            *linked,
            other,
        ],
        sync_mode=mode,
    )
    assert first.returncode == 0, first.stderr[-3000:]

    second = target_run.run(
        [ACCOUNTS, account("11", "acct-1", _sdc_deleted_at=ARCHIVED_AT), state(n=2)],
        sync_mode=mode,
        delete_cap_percent=100,
    )

    assert second.returncode == 0, second.stderr[-3000:]
    users = target_run.emulator.records("user")
    assert users["u1@example.com"].get("account_id") is None
    assert users["u2@example.com"].get("account_id") is None
    assert users["u3@example.com"]["account_id"] == "acct-2"
    assert users["u1@example.com"]["first_name"] == "Ada"  # only the link changed
    assert second.counts("user")["unlinked"] == 2
    assert ("acct-1" in target_run.emulator.records("account")) is (mode == "keep")


@pytest.mark.parametrize(
    ("mode", "same_run"),
    [
        pytest.param("keep", True, id="keep-same-run"),
        pytest.param("keep", False, id="keep-later-run"),  # the old record was left behind
        pytest.param("mirror", True, id="mirror-same-run"),  # (later, it was deleted)
    ],
)
def test_a_record_taking_over_an_id_clears_what_the_previous_holder_left(
    target_run: TargetHarness, mode: str, same_run: bool
) -> None:
    """An archived contact's email reused by a new contact without a city: the Gather user
    must not keep the old contact's city, although null_policy is omit."""
    run(target_run, [user("1", "shared@example.com", city="Oslo")], mode)
    archived = user("1", "shared@example.com", city="Oslo", _sdc_deleted_at=ARCHIVED_AT)
    newcomer = user("2", "shared@example.com", firstname="Grace", city=None)
    if same_run:
        run(target_run, [newcomer, archived], mode)
    else:
        run(target_run, [archived], mode)
        run(target_run, [newcomer], mode)

    held = target_run.emulator.records("user")["shared@example.com"]
    assert held["first_name"] == "Grace"
    assert held.get("city") is None
