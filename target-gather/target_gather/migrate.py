"""Ledger tables written before sources had a portal: rebuilt once with the `origin` column.

Until version 0.1 the ledger's `accepted` and `identity` rows were keyed by workspace, model,
stream and id, with no source portal, so two HubSpot portals writing into one workspace shared
rows (a portal's record ids are unique within that portal only). The `origin` column now keys
them as well. A table without it is rebuilt in one transaction on first open (every row kept,
`origin` empty); the first run of each stream then claims its empty-origin rows for its portal
(`Ledger.claim`), so that run diffs, reports and deletes exactly what it would have before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

# The tables as version 0.1 wrote them (what `upgrade` rebuilds; tests and the bench build
# ledgers of that version from these).
V1_SCHEMA = (
    """CREATE TABLE accepted (workspace TEXT NOT NULL, model TEXT NOT NULL, source TEXT NOT NULL,
    id TEXT NOT NULL, digest BLOB NOT NULL, PRIMARY KEY (workspace, model, source, id))
    WITHOUT ROWID""",
    """CREATE TABLE identity (workspace TEXT NOT NULL, model TEXT NOT NULL, source TEXT NOT NULL,
    source_id TEXT NOT NULL, gather_id TEXT NOT NULL, version INTEGER, link TEXT,
    PRIMARY KEY (workspace, model, source, source_id)) WITHOUT ROWID""",
    "CREATE INDEX identity_gather ON identity (workspace, model, gather_id)",
    "CREATE INDEX identity_link ON identity (workspace, model, link)",
)
V1_COLUMNS = {
    "accepted": ("workspace", "model", "source", "id", "digest"),
    "identity": ("workspace", "model", "source", "source_id", "gather_id", "version", "link"),
}

ORIGIN = "origin"
# The column every table gets; '' = written before sources had a portal (claimed on first run).
ORIGIN_COLUMN = "origin TEXT NOT NULL DEFAULT ''"


def columns(db: sqlite3.Connection, table: str, schema: str = "main") -> list[str]:
    """The column names of `schema.table` (none when it does not exist)."""
    return [str(row[1]) for row in db.execute(f"PRAGMA {schema}.table_info({table})")]


def upgrade(db: sqlite3.Connection, table: str, create: str, indexes: Sequence[str] = ()) -> int:
    """Rebuild `table` with the `origin` column if it lacks it; returns the rows carried over.

    `create` is the table's current DDL; `indexes` names the table's old indexes (dropped, so
    that their owner re-creates them on the new table).
    """
    found = columns(db, table)
    if not found or ORIGIN in found:
        return 0
    old = f"{table}_before_origin"
    listed = ", ".join(found)
    db.execute("BEGIN IMMEDIATE")
    try:
        for index in indexes:
            db.execute(f"DROP INDEX IF EXISTS {index}")
        db.execute(f"ALTER TABLE {table} RENAME TO {old}")
        db.execute(create)
        cursor = db.execute(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {old}")  # noqa: S608
        moved = cursor.rowcount
        db.execute(f"DROP TABLE {old}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return moved


def downgrade_to_v1(db: sqlite3.Connection) -> None:
    """Rewrite the tables as version 0.1 kept them (rows with an empty origin only): how the
    tests and the bench obtain a ledger written before the upgrade."""
    db.execute("BEGIN IMMEDIATE")
    for table in V1_COLUMNS:
        db.execute(f"ALTER TABLE {table} RENAME TO {table}_current")
    for index in ("identity_by_gather", "identity_by_link"):
        db.execute(f"DROP INDEX IF EXISTS {index}")
    for statement in V1_SCHEMA:
        db.execute(statement)
    for table, listed in V1_COLUMNS.items():
        names = ", ".join(listed)
        db.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {table}_current "  # noqa: S608
            "WHERE origin = ''"
        )
        db.execute(f"DROP TABLE {table}_current")
    db.execute("COMMIT")
