"""Mappings: other streams into accounts and users, custom models, events, and start-up checks."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from target_gather.client import GatherError
from target_gather.mapping import MappingError
from target_gather.target import TargetGather
from tests.target.conftest import (
    COMPANIES_SCHEMA,
    CONTACTS_SCHEMA,
    TargetHarness,
    company,
    contact,
    encode_messages,
    record,
    schema,
    state,
)

BILLING_ACCOUNTS = schema(
    "billing_accounts",
    {"account_id": "string", "plan": "string", "mrr": "number", "seats": "integer"},
    ["account_id"],
)
BILLING_USERS = schema("billing_users", {"user_id": "integer", "last_login": "string"}, ["user_id"])
BILLING_MAPPINGS = {
    "billing_accounts": {
        "kind": "account",
        "required": [],
        "traits": {"plan": "plan", "mrr": "mrr", "seats": "seats"},
    },
    "billing_users": {"kind": "user", "required": [], "traits": {"last_login_at": "last_login"}},
}


def test_a_second_source_merges_traits_and_rerunning_either_wipes_nothing(
    target_run: TargetHarness,
) -> None:
    hubspot = [COMPANIES_SCHEMA, company("1", "Acme", city="Paris"), CONTACTS_SCHEMA, contact(10)]
    billing = [
        BILLING_ACCOUNTS,
        record("billing_accounts", account_id="1", plan="pro", mrr=99.5, seats=12),
        BILLING_USERS,
        record("billing_users", user_id=10, last_login="2024-05-01T10:00:00Z"),
    ]
    assert target_run.run(hubspot).returncode == 0
    assert target_run.run(billing, mappings=BILLING_MAPPINGS).returncode == 0
    target_run.emulator.reset_stats()
    rerun = target_run.run(hubspot, mappings=BILLING_MAPPINGS, full_resync=True)

    assert rerun.returncode == 0
    assert target_run.emulator.records("account") == {
        "1": {"name": "Acme", "city": "Paris", "plan": "pro", "mrr": 99.5, "seats": 12}
    }
    assert target_run.emulator.records("user")["10"]["last_login_at"] == "2024-05-01T10:00:00Z"
    assert target_run.emulator.records("user")["10"]["first_name"] == "Ada"

    target_run.emulator.reset_stats()
    again = target_run.run([*hubspot, *billing], mappings=BILLING_MAPPINGS)
    assert again.counts("account")["unchanged"] == 2  # each source keeps its own ledger rows
    assert target_run.emulator.stats()["requests"]["total"] == 0


def test_extra_traits_add_to_the_built_in_mapping_and_null_drops_one(
    target_run: TargetHarness,
) -> None:
    mappings = {"companies": {"traits": {"website": "domain", "country": None}}}

    run = target_run.run(
        [COMPANIES_SCHEMA, company("1", "Acme", city="Paris", country="FR", domain="acme.io")],
        mappings=mappings,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert target_run.emulator.records("account") == {
        "1": {"name": "Acme", "city": "Paris", "website": "acme.io"}
    }


def test_a_stream_maps_to_a_custom_model(target_run: TargetHarness) -> None:
    orders = schema(
        "orders",
        {
            "order_id": "integer",
            "amount": "number",
            "currency": "string",
            "placed_at": {"type": ["string", "null"], "format": "date-time"},
        },
        ["order_id"],
    )
    mappings = {"orders": {"kind": "custom", "model_id": "orders", "all_fields": True}}

    run = target_run.run(
        [
            orders,
            record(
                "orders", order_id=1, amount=75, currency="EUR", placed_at="2024-01-01T00:00:00Z"
            ),
            record("orders", order_id=2, amount=12.5, currency=None),
        ],
        mappings=mappings,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert target_run.emulator.records("orders") == {
        "1": {"amount": 75, "currency": "EUR", "placed_at": "2024-01-01T00:00:00Z"},
        "2": {"amount": 12.5},
    }
    assert run.counts("orders")["created"] == 2


def test_a_stream_maps_to_events_of_users_and_a_replay_sends_none_twice(
    target_run: TargetHarness,
) -> None:
    views = schema(
        "page_views",
        {"view_id": "string", "user_id": "integer", "url": "string", "title": "string"},
        ["view_id"],
    )
    signups = schema(
        "signups", {"signup_id": "string", "kind": "string", "account": "string"}, ["signup_id"]
    )
    mappings = {
        "page_views": {"kind": "event", "event_type": "page.viewed", "user_field": "user_id"},
        "signups": {
            "kind": "event",
            "event_type_field": "kind",
            "account_field": "account",
            "all_fields": False,
        },
    }
    messages = [
        views,
        record("page_views", view_id="v1", user_id=10, url="https://x.io/a", title="A"),
        record("page_views", view_id="v2", user_id=10, url="https://x.io/b", title=None),
        record("page_views", view_id="v3", user_id=None, url="https://x.io/c", title="C"),
        signups,
        record("signups", signup_id="s1", kind="account.signed_up", account=" 1 "),
    ]

    run = target_run.run(messages, mappings=mappings)
    replay = target_run.run(messages, mappings=mappings)

    assert run.returncode == 0, run.stderr[-3000:]
    events = target_run.emulator.events()
    shapes = [(e["type"], e.get("user"), e.get("account"), e["properties"]) for e in events]
    assert shapes == [
        ("page.viewed", "10", None, {"url": "https://x.io/a", "title": "A"}),
        ("page.viewed", "10", None, {"url": "https://x.io/b"}),
        ("account.signed_up", None, "1", {}),
    ]
    assert run.counts("events")["created"] == 3
    assert [(r["stream"], r["id"], r["reason"]) for r in run.rejects] == [
        ("page_views", "v3", "user field 'user_id' is missing or empty"),
    ]
    assert replay.counts("events")["unchanged"] == 3
    assert len(target_run.emulator.events()) == 3


def test_a_stream_mapped_to_false_is_ignored(target_run: TargetHarness) -> None:
    run = target_run.run(
        [COMPANIES_SCHEMA, company("1"), CONTACTS_SCHEMA, contact(10)],
        mappings={"contacts": False},
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert target_run.emulator.records("user") == {}
    assert set(target_run.emulator.records("account")) == {"1"}


STARTUP_ERRORS: list[tuple[Any, str]] = [
    (
        {"billing": {"kind": "acount"}},
        "mappings.billing.kind is 'acount': use one of account, user, custom, event",
    ),
    (
        {"orders": {"kind": "custom"}},
        "mappings.orders.model_id must name the Gather custom model",
    ),
    (
        {"billing": {"kind": "account", "traits": {"plan": "plan"}}},
        "mappings.billing maps to account but maps no name trait, which Gather requires: add "
        "traits.name = <stream field>, or set required: []",
    ),
    (
        {"views": {"kind": "event", "user_field": "u"}},
        "mappings.views is an event mapping: set exactly one of event_type",
    ),
    (
        {"billing": {"kind": "account", "name_field": "x"}},
        "mappings.billing has unknown option(s) name_field",
    ),
]


def offline_config(tmp_path: Path, mappings: Any) -> dict[str, Any]:
    """A config for in-process checks that never reach Gather."""
    return {
        "api_key": "k",
        "mappings": mappings,
        "ledger_path": str(tmp_path / "ledger.sqlite3"),
        "rejects_path": str(tmp_path / "rejects.jsonl"),
    }


@pytest.mark.parametrize(("mappings", "message"), STARTUP_ERRORS)
def test_malformed_mappings_fail_at_start_up_naming_the_fix(
    tmp_path: Path, mappings: Any, message: str
) -> None:
    with pytest.raises(GatherError, match=re.escape(f"invalid config: {message}")):
        TargetGather(config=offline_config(tmp_path, mappings))


def test_a_start_up_error_is_one_line_on_the_cli_and_sends_nothing(
    target_run: TargetHarness,
) -> None:
    mappings, message = STARTUP_ERRORS[0]

    run = target_run.run([COMPANIES_SCHEMA, company("1")], mappings=mappings)

    assert run.returncode != 0
    assert f"target-gather: invalid config: {message}" in run.stderr
    assert "Traceback" not in run.stderr
    assert target_run.emulator.stats()["requests"]["total"] == 0


def test_mappings_of_the_wrong_type_are_refused_by_config_validation(
    target_run: TargetHarness,
) -> None:
    run = target_run.run([COMPANIES_SCHEMA, company("1")], mappings=[1, 2])

    assert run.returncode != 0
    assert "[1, 2] is not of type 'object', 'null' in config['mappings']" in run.stderr


SCHEMA_ERRORS: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    (
        schema("billing", {"account_id": "string", "plan": "string"}, ["account_id"]),
        {"billing": {"kind": "account", "required": [], "traits": {"plan": "plan_name"}}},
        "mappings.billing.traits.plan names field 'plan_name', which the schema of stream "
        "'billing' lacks (its fields: account_id, plan). Fix: name one of the stream's fields",
    ),
    (
        schema("billing", {"account_id": "string", "plan": "string"}, []),
        {"billing": {"kind": "account", "required": [], "traits": {"plan": "plan"}}},
        "stream 'billing' has no key properties, so target-gather cannot tell which field holds "
        "the Gather id. Fix: set mappings.billing.id_field",
    ),
    (
        schema("billing", {"account_id": "string", "plan": "string"}, ["account_id"]),
        {"billing": {"kind": "account", "id_field": "acct", "required": []}},
        "mappings.billing.id_field names field 'acct', which the schema of stream 'billing' lacks",
    ),
    (
        schema("billing", {"tags": "array", "plan": "string"}, ["tags"]),
        {"billing": {"kind": "account", "required": []}},
        "mappings.billing.id_field: field 'tags' of stream 'billing' is array, which cannot be "
        "an id",
    ),
    (
        schema("unknown_stream", {"id": "string"}, ["id"]),
        {},
        "stream 'unknown_stream' has no mapping (mapped streams: companies, "
        "companies_without_id, contacts, contacts_without_id). Fix: add "
        "mappings.unknown_stream",
    ),
]


@pytest.mark.parametrize(("schema_message", "mappings", "message"), SCHEMA_ERRORS)
def test_mappings_that_do_not_fit_the_schema_fail_when_it_arrives(
    tmp_path: Path, schema_message: dict[str, Any], mappings: Any, message: str
) -> None:
    target = TargetGather(config=offline_config(tmp_path, mappings))

    with pytest.raises(MappingError, match=re.escape(message)):
        target.listen(io.StringIO(encode_messages([schema_message])))


def test_a_schema_error_is_one_line_on_the_cli_after_no_state(target_run: TargetHarness) -> None:
    schema_message, mappings, message = SCHEMA_ERRORS[0]

    run = target_run.run(
        [COMPANIES_SCHEMA, company("1"), state(n=1), schema_message], mappings=mappings
    )

    assert run.returncode != 0
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert run.states == []


def test_sdk_stream_maps_still_apply_before_the_mapping(target_run: TargetHarness) -> None:
    crm = {**COMPANIES_SCHEMA, "stream": "crm_companies"}
    run = target_run.run(
        [
            crm,
            {**company("1", "acme"), "stream": "crm_companies"},
            {**company("2", "skip me"), "stream": "crm_companies"},
        ],
        stream_maps={
            "crm_companies": {
                "__alias__": "companies",
                "__filter__": "name != 'skip me'",
                "name": "name.upper()",
            }
        },
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert target_run.emulator.records("account") == {"1": {"name": "ACME"}}
