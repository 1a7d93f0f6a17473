"""The tap into the most common Singer target: `meltano run tap-hubspot-gather target-postgres`
(MeltanoLabs, pinned in meltano.yml) on a real PostgreSQL server started for the test.

No RECORD leaves the tap with a null key property (SQL targets make the key a NOT NULL primary
key): a record whose ID is empty goes to `<stream>_without_id`, keyed by portal and HubSpot id.
For an internal ID and for HubSpot's own ids, two runs with changes between them (a rename, a
key change, a cleared ID, an archived record, a new record): the tables hold exactly the rows
those runs imply, as upserts accumulate them (a standard target deletes nothing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Pipeline
from tests.reliability.conftest import private_system_dir
from tests.services.postgres import PostgresServer

ID_CHOICES = [
    pytest.param(("gather_account_id", "gather_user_id"), id="internal-ids"),
    pytest.param(("companyId", "vid"), id="hubspot-ids"),
]
SEED = {"companies": 12, "contacts": 50, "seed": 23}
# Columns compared per stream (besides the key): selected in meltano.yml, or automatic.
COLUMNS = {
    "companies": ("name", "city", "country", "portal_id", "id"),
    "contacts": ("firstname", "lastname", "email", "portal_id", "id"),
}
HUBSPOT_IDS = {"companies": "companyId", "contacts": "vid"}
SCHEMA = "hubspot"


def key_of(record: dict[str, Any], prop: str, stream: str) -> str | None:
    """The record's key as the tap emits it (HubSpot's id, or the property normalized)."""
    if prop == HUBSPOT_IDS[stream]:
        return str(record["id"])
    value = record["properties"].get(prop)
    if value is None or not str(value).strip():
        return None
    return str(value).strip().lower() if prop == "email" else str(value).strip()


def implied(
    hubspot: Any, props: dict[str, str], rows: dict[str, dict[Any, dict[str, Any]]]
) -> None:
    """Upsert into `rows` what one run emits: every live record (and every record archived
    since the last run) with a key into its stream's table, the others into `_without_id`."""
    portal = str(hubspot.hub_id)
    for stream, prop in props.items():
        for archived in (False, True):
            for record in hubspot.dump(stream, archived="true" if archived else "false"):
                key = key_of(record, prop, stream)
                if key is None:
                    rows[f"{stream}_without_id"][(portal, str(record["id"]))] = {
                        "stream": stream,
                        "archived": archived,
                    }
                    continue
                values = {c: record["properties"].get(c) for c in COLUMNS[stream]}
                values.update(portal_id=portal, id=str(record["id"]), deleted=archived)
                rows[stream][key] = values


def table(server: PostgresServer, database: str, stream: str, key: list[str]) -> dict[Any, Any]:
    """The table's rows by key, with the compared columns (`deleted`: _sdc_deleted_at set)."""
    columns = COLUMNS.get(stream, ("stream", "archived"))
    select = ", ".join(f'"{c}"' for c in (*key, *columns))
    deleted = ', "_sdc_deleted_at" IS NOT NULL AS deleted' if stream in COLUMNS else ""
    raw = server.psql(
        f'SELECT json_agg(t) FROM (SELECT {select}{deleted} FROM {SCHEMA}."{stream}") t',
        database,
    ).strip()
    found: dict[Any, Any] = {}
    for row in json.loads(raw or "null") or []:
        index = tuple(str(row.pop(k)) for k in key)
        found[index[0] if len(index) == 1 else index] = row
    return found


def normalized(rows: dict[Any, dict[str, Any]], stream: str) -> dict[Any, dict[str, Any]]:
    """Expected values as the tap types them (emails lower-cased only as keys, strings)."""
    if stream not in COLUMNS:
        return rows
    return {
        key: {
            c: (None if v is None else v if isinstance(v, bool) else str(v)) for c, v in r.items()
        }
        for key, r in rows.items()
    }


def changes(hubspot: Any, props: dict[str, str]) -> None:
    """A rename, a key change and a cleared ID (internal IDs only), an archived contact, a new
    contact."""
    contacts = [
        c
        for c in hubspot.dump("contacts")
        if key_of(c, props["contacts"], "contacts") is not None
        and all(c["properties"].get(p) for p in ("firstname", "lastname", "email"))
    ]
    renamed, moved, cleared, archived = contacts[:4]
    hubspot.update("contacts", renamed["id"], {"firstname": "Renamed"})
    if props["contacts"] != "vid":
        hubspot.update("contacts", moved["id"], {props["contacts"]: f"U-moved-{moved['id']}"})
        hubspot.update("contacts", cleared["id"], {props["contacts"]: None})
    hubspot.archive("contacts", archived["id"])
    new = {"firstname": "Nova", "lastname": "Newcomer", "email": "nova@example.com"}
    if props["contacts"] != "vid":
        new[props["contacts"]] = "U-new"
    hubspot.create("contacts", new)
    company = hubspot.dump("companies")[0]
    hubspot.update("companies", company["id"], {"name": "Renamed Holdings"})


@pytest.mark.e2e
@pytest.mark.parametrize("ids", ID_CHOICES)
def test_the_tap_loads_into_target_postgres_with_exact_rows(
    pipeline: Pipeline, postgres_server: PostgresServer, tmp_path: Path, ids: tuple[str, str]
) -> None:
    database = f"hubspot_{ids[0].lower()}"
    postgres_server.create_database(database)
    pipeline.extra_env.update(
        {
            **private_system_dir(tmp_path),
            "TAP_HUBSPOT_GATHER_ACCOUNT_ID_PROPERTY": ids[0],
            "TAP_HUBSPOT_GATHER_USER_ID_PROPERTY": ids[1],
            "TARGET_POSTGRES_HOST": postgres_server.host,
            "TARGET_POSTGRES_PORT": str(postgres_server.port),
            "TARGET_POSTGRES_USER": postgres_server.user,
            "TARGET_POSTGRES_PASSWORD": postgres_server.password,
            "TARGET_POSTGRES_DATABASE": database,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
            "TARGET_POSTGRES_HARD_DELETE": "false",
        }
    )
    hubspot = pipeline.hubspot
    hubspot.seed(**SEED)
    props = {"companies": ids[0], "contacts": ids[1]}
    keys = {"companies": [ids[0]], "contacts": [ids[1]]}
    expected: dict[str, dict[Any, dict[str, Any]]] = {
        name: {}
        for name in ("companies", "contacts", "companies_without_id", "contacts_without_id")
    }

    for run in (1, 2):
        if run == 2:
            changes(hubspot, props)
        pipeline.run("tap-hubspot-gather", "target-postgres")
        implied(hubspot, props, expected)
        for stream, want in expected.items():
            key = keys.get(stream, ["portal_id", "id"])
            have = table(postgres_server, database, stream, key) if want else {}
            assert have == normalized(want, stream), f"run {run}, table {stream}"
    assert len(expected["contacts"]) >= SEED["contacts"] // 2
    assert sum(r["deleted"] for r in expected["contacts"].values()) == 1  # the archived contact
    assert "Renamed" in {r["firstname"] for r in expected["contacts"].values()}
    if ids[1] != "vid":
        assert expected["contacts_without_id"], "records without an ID reached their own table"
        assert "U-moved-" in " ".join(expected["contacts"])  # the old key's row stays too
