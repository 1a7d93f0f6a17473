"""Records reach Gather exactly as mapped; replays, duplicates, invalid and rejected records."""

from __future__ import annotations

import sqlite3

from tests.target.conftest import (
    COMPANIES_SCHEMA,
    CONTACTS_SCHEMA,
    TargetHarness,
    company,
    contact,
    record,
    schema,
    state,
)

PIPELINE = [
    COMPANIES_SCHEMA,
    company("1", "Acme", city="Paris", country="France", domain="acme.io"),
    company("2", "Beta", city="Rome", country=None),
    state(companies={"updatedAt": "2024-01-02T00:00:00Z"}),
    CONTACTS_SCHEMA,
    contact(10, "Ada", city="London", country="UK", primary_company_account_id="1"),
    contact(11, "Bob", email=" Bob@Example.COM ", primary_company_account_id=None),
    state(companies={"updatedAt": "2024-01-02T00:00:00Z"}, contacts={"offset": 2}),
]
FINAL_STATE = {
    "bookmarks": {"companies": {"updatedAt": "2024-01-02T00:00:00Z"}, "contacts": {"offset": 2}}
}


def test_default_mappings_create_accounts_and_users_and_emit_the_last_state(
    target_run: TargetHarness,
) -> None:
    run = target_run.run(PIPELINE)

    assert run.returncode == 0, run.stderr[-3000:]
    assert target_run.emulator.records("account") == {
        "1": {"name": "Acme", "city": "Paris", "country": "France"},
        "2": {"name": "Beta", "city": "Rome"},
    }
    assert target_run.emulator.records("user") == {
        "10": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "user10@example.com",
            "city": "London",
            "country": "UK",
            "account_id": "1",
        },
        "11": {"first_name": "Bob", "last_name": "Lovelace", "email": "bob@example.com"},
    }
    assert run.states == [FINAL_STATE]
    assert run.rejects == []
    assert run.counts("account")["created"] == 2
    assert run.counts("user")["created"] == 2


def test_replaying_the_same_input_creates_nothing_twice_and_sends_nothing(
    target_run: TargetHarness,
) -> None:
    assert target_run.run(PIPELINE).returncode == 0
    target_run.emulator.reset_stats()

    replay = target_run.run(PIPELINE)

    assert replay.returncode == 0, replay.stderr[-3000:]
    assert target_run.emulator.stats()["requests"]["total"] == 0
    assert replay.counts("account")["unchanged"] == 2
    assert replay.counts("user")["unchanged"] == 2
    assert replay.states == [FINAL_STATE]
    writes = {m: target_run.emulator.records_with_meta(m) for m in ("account", "user")}
    assert all(r["_meta"]["writes"] == 1 for recs in writes.values() for r in recs.values())


def test_losing_the_ledger_only_costs_resending_as_updates(target_run: TargetHarness) -> None:
    assert target_run.run(PIPELINE).returncode == 0
    before = target_run.emulator.records("account"), target_run.emulator.records("user")
    target_run.ledger.unlink()

    run = target_run.run(PIPELINE)

    assert run.counts("account") | run.counts("user") != {}
    assert (run.counts("account")["updated"], run.counts("account")["created"]) == (2, 0)
    assert (run.counts("user")["updated"], run.counts("user")["created"]) == (2, 0)
    assert (target_run.emulator.records("account"), target_run.emulator.records("user")) == before


def test_full_resync_ignores_the_ledger(target_run: TargetHarness) -> None:
    assert target_run.run(PIPELINE).returncode == 0
    target_run.emulator.reset_stats()

    run = target_run.run(PIPELINE, full_resync=True)

    assert run.counts("account")["updated"] == 2
    assert target_run.emulator.stats()["requests"]["total"] == 4


def test_a_changed_record_is_sent_again_and_only_it(target_run: TargetHarness) -> None:
    assert target_run.run(PIPELINE).returncode == 0
    target_run.emulator.reset_stats()
    changed = [
        COMPANIES_SCHEMA,
        company("1", "Acme", city="Lyon", country="France"),
        company("2", "Beta", city="Rome"),
    ]

    run = target_run.run(changed)

    assert (run.counts("account")["updated"], run.counts("account")["unchanged"]) == (1, 1)
    assert target_run.emulator.records("account")["1"]["city"] == "Lyon"
    assert target_run.emulator.stats()["requests"]["total"] == 1


def test_last_record_per_id_wins_and_ids_are_normalized(target_run: TargetHarness) -> None:
    run = target_run.run(
        [
            COMPANIES_SCHEMA,
            company("7", "First"),
            company(" 7 ", "Second"),
            company("7.0", "Third"),
            company("8", "Other"),
        ]
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert target_run.emulator.records("account") == {
        "7": {"name": "Third"},
        "8": {"name": "Other"},
    }
    assert run.counts("account")["duplicates"] == 2
    assert target_run.emulator.stats()["requests"]["total"] == 2


def test_integral_float_ids_and_email_ids_are_normalized_like_the_tap(
    target_run: TargetHarness,
) -> None:
    by_email = schema(
        "contacts",
        {"email": "string", "firstname": "string", "lastname": "string", "vid": "number"},
        ["email"],
    )
    run = target_run.run(
        [
            by_email,
            record("contacts", email=" Ada@Example.COM", firstname="Ada", lastname="L", vid=12.0),
        ]
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert target_run.emulator.records("user") == {
        "ada@example.com": {"first_name": "Ada", "last_name": "L", "email": "ada@example.com"}
    }


def test_invalid_records_are_reported_never_sent_and_do_not_block_the_rest(
    target_run: TargetHarness,
) -> None:
    run = target_run.run(
        [
            COMPANIES_SCHEMA,
            company("1", None),  # missing required name
            company("2", "   "),  # blank name
            company("", "No id"),  # empty id
            company("3", "Good"),
            CONTACTS_SCHEMA,
            contact(20, None),  # missing first_name
            contact(21, "Eve", email="not-an-email"),
            contact(22, "Zoe", primary_company_account_id=True),  # unusable account id
            contact(23, "Max"),
            state(contacts={"offset": 5}),
        ]
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert set(target_run.emulator.records("account")) == {"3"}
    assert set(target_run.emulator.records("user")) == {"23"}
    assert [(r["stream"], r["id"], r["outcome"], r["http_status"]) for r in run.rejects] == [
        ("companies", "1", "invalid", None),
        ("companies", "2", "invalid", None),
        ("companies", None, "invalid", None),
        ("contacts", "20", "invalid", None),
        ("contacts", "21", "invalid", None),
        ("contacts", "22", "invalid", None),
    ]
    reasons = [r["reason"] for r in run.rejects]
    assert reasons[0] == "required trait 'name' is missing or empty"
    assert reasons[4] == "trait 'email' is not an email address"
    assert all("payload" not in r for r in run.rejects)
    assert run.counts("account")["invalid"] == 3
    assert run.counts("user")["invalid"] == 3
    assert run.states == [{"bookmarks": {"contacts": {"offset": 5}}}]
    assert target_run.emulator.stats()["requests"]["total"] == 2


def test_rejects_include_the_payload_only_when_opted_in(target_run: TargetHarness) -> None:
    run = target_run.run(
        [COMPANIES_SCHEMA, company("1", None, city="Oslo")], rejects_include_payload=True
    )

    assert run.rejects[0]["payload"]["city"] == "Oslo"


def test_records_gather_refuses_are_rejected_once_never_retried(target_run: TargetHarness) -> None:
    # A billing stream that only updates accounts: Gather refuses to create one without name.
    billing = schema("billing", {"account_id": "string", "plan": "string"}, ["account_id"])
    mappings = {"billing": {"kind": "account", "required": [], "traits": {"plan": "plan"}}}
    target_run.run([COMPANIES_SCHEMA, company("1", "Acme")])
    target_run.emulator.reset_stats()

    run = target_run.run(
        [
            billing,
            record("billing", account_id="1", plan="pro"),
            record("billing", account_id="404", plan="free"),
            state(billing={"page": 1}),
        ],
        mappings=mappings,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert target_run.emulator.records("account") == {"1": {"name": "Acme", "plan": "pro"}}
    (reject,) = run.rejects
    assert (reject["stream"], reject["model"], reject["id"]) == ("billing", "account", "404")
    assert (reject["outcome"], reject["http_status"]) == ("rejected", 400)
    assert reject["reason"] == "HTTP 400: name: This field is required."
    assert run.counts("account")["rejected"] == 1
    assert run.counts("account")["retried"] == 0
    assert target_run.emulator.stats()["requests"]["total"] == 2
    assert run.states == [{"bookmarks": {"billing": {"page": 1}}}]


def test_a_rejected_record_is_sent_again_on_the_next_run(target_run: TargetHarness) -> None:
    billing = schema("billing", {"account_id": "string", "plan": "string"}, ["account_id"])
    mappings = {"billing": {"kind": "account", "required": [], "traits": {"plan": "plan"}}}
    messages = [billing, record("billing", account_id="404", plan="free")]
    target_run.run(messages, mappings=mappings)
    target_run.emulator.reset_stats()

    run = target_run.run(messages, mappings=mappings)

    assert run.counts("account")["rejected"] == 1
    assert target_run.emulator.stats()["requests"]["total"] == 1


def test_null_policy_omit_keeps_gathers_value(target_run: TargetHarness) -> None:
    target_run.run([COMPANIES_SCHEMA, company("1", "Acme", city="Paris")])

    run = target_run.run([COMPANIES_SCHEMA, company("1", "Acme", city=None)], null_policy="omit")

    assert run.returncode == 0
    assert target_run.emulator.records("account") == {"1": {"name": "Acme", "city": "Paris"}}


def test_null_policy_clear_clears_the_trait_and_absent_fields_are_never_sent(
    target_run: TargetHarness,
) -> None:
    target_run.run([COMPANIES_SCHEMA, company("1", "Acme", city="Paris", country="France")])

    # `country` is absent from the record: it must survive even with `clear`.
    run = target_run.run([COMPANIES_SCHEMA, company("1", "Acme", city=None)], null_policy="clear")

    assert run.returncode == 0
    assert target_run.emulator.records("account") == {
        "1": {"name": "Acme", "city": None, "country": "France"}
    }


def test_traits_payload_format_lands_the_same_records(target_run: TargetHarness) -> None:
    run = target_run.run(PIPELINE, payload_format="traits")

    assert run.returncode == 0, run.stderr[-3000:]
    assert target_run.emulator.records("account")["1"] == {
        "name": "Acme",
        "city": "Paris",
        "country": "France",
    }


def test_the_ledger_stores_no_api_key_and_one_row_per_accepted_record(
    target_run: TargetHarness,
) -> None:
    target_run.run(PIPELINE)

    rows = (
        sqlite3.connect(target_run.ledger)
        .execute("SELECT workspace, model, source, id FROM accepted ORDER BY model, id")
        .fetchall()
    )
    assert [(m, s, i) for _, m, s, i in rows] == [
        ("account", "companies", "1"),
        ("account", "companies", "2"),
        ("user", "contacts", "10"),
        ("user", "contacts", "11"),
    ]
    assert target_run.emulator.api_key not in rows[0][0]
    assert target_run.emulator.api_key.encode() not in target_run.ledger.read_bytes()


def test_hostile_values_arrive_intact_and_an_oversized_record_is_rejected_alone(
    target_run: TargetHarness,
) -> None:
    odd = 'emoji 🚀 rtl مرحبا nul \x00 bell \x07 newline \n quote " backslash \\'
    notes = schema(
        "notes",
        {"note_id": "string", "text": "string", "'; DROP TABLE accounts;--": "string"},
        ["note_id"],
    )
    mappings = {"notes": {"kind": "custom", "model_id": "notes", "all_fields": True}}
    run = target_run.run(
        [
            notes,
            record("notes", note_id="n/1?x", text=odd, **{"'; DROP TABLE accounts;--": "x"}),
            record("notes", note_id="big", text="x" * 3_000_000),
            record("notes", note_id="n2", text="fine"),
            state(n=3),
        ],
        mappings=mappings,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert target_run.emulator.records("notes") == {
        "n/1?x": {"text": odd, "'; DROP TABLE accounts;--": "x"},
        "n2": {"text": "fine"},
    }
    (reject,) = run.rejects
    assert (reject["id"], reject["outcome"], reject["http_status"]) == ("big", "rejected", 413)
    assert run.states == [{"bookmarks": {"n": 3}}]
