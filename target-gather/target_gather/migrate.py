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
