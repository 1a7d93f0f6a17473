"""The SQLite hash ledger: what Gather last accepted, so unchanged records are not re-sent.

Rows are keyed by workspace (the api_url plus a fingerprint of the key, never the key itself),
model, source stream, origin (the source's portal; '' for a source without one) and id, and hold
a digest of the body Gather accepted. Two sources that update the same record (HubSpot and a
billing tap, or two HubSpot portals) keep separate rows, so neither re-sends everything because
the other ran in between, nor sees the other's records.

Crash safety: before a changed record is sent its row is deleted (committed), and the new digest
is written only after Gather acknowledged it. Whatever point a run dies at, the ledger never
claims Gather holds something it does not; losing the file only costs re-sending.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar, cast

from target_gather.migrate import ORIGIN_COLUMN, upgrade

T = TypeVar("T")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS accepted (
    workspace TEXT NOT NULL,
    model TEXT NOT NULL,
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    digest BLOB NOT NULL,
    {ORIGIN_COLUMN},
    PRIMARY KEY (workspace, model, source, origin, id)
) WITHOUT ROWID
"""
# SQLite's default SQLITE_MAX_VARIABLE_NUMBER is 32766 (>= 3.32); stay far below it.
LOOKUP_CHUNK = 500
# A lookup first reads the stretch of the key between its smallest and largest id, when that
# stretch holds at most this many rows per id asked: one ordered scan of the primary key costs
# less than half as much CPU as seeking each id (measured: 100,000 ids in batches of 5,000,
# 0.2 s of seeks against 0.1 s of range reads). A sparser stretch stops the read at the limit
# and falls back to `IN (...)` seeks.
RANGE_ROWS_PER_ID = 2
LOOKUP_SQL = (
    "SELECT id, digest FROM accepted WHERE workspace = ? AND model = ? AND source = ? "
    "AND origin = ?"
)
WRITERS_SQL = (
    "SELECT id, source, origin FROM accepted WHERE workspace = ? AND model = ? "
    "AND digest NOT IN (?, ?) AND id IN"
)
DIGEST_BYTES = 16
DELETED_DIGEST = b"\x00" * DIGEST_BYTES  # a tombstone: "deleted, and Gather acknowledged it"
# Keep mode: "left behind in Gather and reported", so it is reported once, not every run.
LEFT_BEHIND_DIGEST = b"\xff" * DIGEST_BYTES


def workspace_key(api_url: str, api_key: str) -> str:
    """`api_url#fingerprint`: identifies a Gather workspace without storing its key."""
    fingerprint = hashlib.sha256(b"target-gather-ledger\x00" + api_key.encode()).hexdigest()
    return f"{api_url.rstrip('/')}#{fingerprint[:16]}"


def digest(body: bytes) -> bytes:
    """A short, stable digest of an encoded body."""
    return hashlib.blake2b(body, digest_size=DIGEST_BYTES).digest()


def sole_workspace(path: Path, api_url: str) -> str | None:
    """The only workspace the ledger knows at `api_url` (for a dry run given no key)."""
    if not path.exists():
        return None
    prefix = f"{api_url.rstrip('/')}#"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT DISTINCT workspace FROM accepted WHERE substr(workspace, 1, ?) = ?",
            (len(prefix), prefix),
        ).fetchall()
    except sqlite3.OperationalError:
        return None
    finally:
        db.close()
    return str(rows[0][0]) if len(rows) == 1 else None


class Ledger:
    """Thread-safe access to the ledger file of one workspace."""

    def __init__(self, path: Path, workspace: str, *, read_only: bool = False) -> None:
        self.path = path
        self.workspace = workspace
        self.read_only = read_only
        self._lock = threading.Lock()
        # Writes since the last `take_journal` (only when a durable copy is kept).
        self.journal: list[tuple[str, list[Sequence[object]]]] | None = None
        self.schema: list[str] = [SCHEMA]  # every table's DDL, for the durable snapshot
        if read_only and not path.exists():
            self._db: sqlite3.Connection | None = None
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self.migrated = 0  # rows carried over into the table with `origin` (see migrate.py)
        if not read_only:
            self.migrated = upgrade(self._db, "accepted", SCHEMA)
            self._db.execute(SCHEMA)

    def lookup(self, model: str, source: str, origin: str, ids: Sequence[str]) -> dict[str, bytes]:
        """The stored digests of those `ids` that have one, for one stream of one origin."""
        if self._db is None or not ids:
            return {}
        rows = self.read_keys(LOOKUP_SQL, "id", (self.workspace, model, source, origin), ids)
        return dict(cast("list[tuple[str, bytes]]", rows))

    def writers(self, model: str, ids: Iterable[str]) -> dict[str, set[tuple[str, str]]]:
        """For each Gather id, the (stream, origin) sources whose last write of it Gather
        holds (neither deleted nor left behind)."""
        found: dict[str, set[tuple[str, str]]] = {}
        params = (self.workspace, model, DELETED_DIGEST, LEFT_BEHIND_DIGEST)
        for gather_id, source, origin in self.read_in(WRITERS_SQL, params, sorted(set(ids))):
            found.setdefault(str(gather_id), set()).add((str(source), str(origin)))
        return found

    def count_held(self, model: str, source: str, origin: str) -> int:
        """How many records one stream of one origin wrote that Gather still holds (left
        behind ones included: they are still there)."""
        rows = self.read(
            "SELECT COUNT(*) FROM accepted WHERE workspace = ? AND model = ? AND source = ? "
            "AND origin = ? AND digest != ?",
            (self.workspace, model, source, origin, DELETED_DIGEST),
        )
        return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]

    def claim(self, model: str, source: str, origin: str, table: str = "accepted") -> None:
        """Rows of `source` written before sources had an origin become `origin`'s (a row
        the origin already has wins). Run once per stream, before its first lookup."""
        where = "workspace = ? AND model = ? AND source = ? AND origin = ''"
        params = (self.workspace, model, source)
        if not self.read(f"SELECT 1 FROM {table} WHERE {where} LIMIT 1", params):  # noqa: S608
            return  # nothing to claim (every run after the first): no journal entry
        self.write_many(
            [
                (f"UPDATE OR IGNORE {table} SET origin = ? WHERE {where}", [(origin, *params)]),  # noqa: S608
                (f"DELETE FROM {table} WHERE {where}", [params]),  # noqa: S608
            ]
        )

    def forget(self, model: str, source: str, origin: str, ids: Iterable[str]) -> None:
        """Drop the rows of records about to be sent (committed before sending)."""
        sql = (
            "DELETE FROM accepted WHERE workspace = ? AND model = ? AND source = ? AND "
            "origin = ? AND id = ?"
        )
        self.write_many([(sql, [(self.workspace, model, source, origin, i) for i in ids])])

    def forget_everywhere(self, model: str, ids: Iterable[str]) -> None:
        """Drop every source's rows for deleted records, so a re-creation is always sent."""
        sql = "DELETE FROM accepted WHERE workspace = ? AND model = ? AND id = ?"
        self.write_many([(sql, [(self.workspace, model, i) for i in ids])])

    def remember(
        self, model: str, source: str, origin: str, entries: Iterable[tuple[str, bytes]]
    ) -> None:
        """Record what Gather acknowledged (called only after acknowledgement)."""
        sql = (
            "INSERT OR REPLACE INTO accepted (workspace, model, source, origin, id, digest) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        rows = [(self.workspace, model, source, origin, i, d) for i, d in entries]
        self.write_many([(sql, rows)])

    def execute_schema(self, statement: str) -> None:
        """Create a table or index another module keeps in this database."""
        self.schema.append(statement)
        if self._db is not None and not self.read_only:
            with self._lock:
                self._db.execute(statement)

    def with_connection(self, action: Callable[[sqlite3.Connection], T]) -> T | None:
        """Run `action` on the database under the lock (None when there is no database)."""
        if self._db is None:
            return None
        with self._lock:
            return action(self._db)

    def take_journal(self) -> list[tuple[str, list[Sequence[object]]]]:
        """The writes since the last call (for the durable copy), and start a new journal."""
        with self._lock:
            taken, self.journal = self.journal or [], ([] if self.journal is not None else None)
        return taken

    def read(self, sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        """Rows of one query (none when the database was never created)."""
        if self._db is None:
            return []
        with self._lock:
            try:
                return list(self._db.execute(sql, tuple(params)))
            except sqlite3.OperationalError:  # read-only and the table was never created
                return []

    def read_in(
        self, sql_in: str, params: Sequence[object], values: Sequence[object]
    ) -> list[tuple[object, ...]]:
        """Rows of `sql_in` (ending in `IN`) for all `values`, read `LOOKUP_CHUNK` at a time,
        each chunk as `read` does (its own lock; none from a chunk the database cannot read)."""
        rows: list[tuple[object, ...]] = []
        for sql, chunk in in_chunks(sql_in, values):
            rows.extend(self.read(sql, (*params, *chunk)))
        return rows

    def read_keys(
        self, sql: str, key: str, params: Sequence[object], ids: Iterable[str]
    ) -> list[tuple[object, ...]]:
        """Rows of `sql` (a SELECT whose first column is `key`, ending in its WHERE clause)
        whose `key` is one of `ids`: the ids' stretch of the key read at once when it is dense
        enough (`RANGE_ROWS_PER_ID`), else `IN (...)` chunks as `read_in` reads them.

        Text keys compare the same in SQLite (BINARY: UTF-8 bytes) and Python (code points),
        so the stretch between the smallest and the largest id holds every row asked for."""
        asked = set(ids)
        if not asked:
            return []
        limit = RANGE_ROWS_PER_ID * len(asked)
        rows = self.read(
            f"{sql} AND {key} BETWEEN ? AND ? LIMIT ?",
            (*params, min(asked), max(asked), limit + 1),
        )
        if len(rows) <= limit:
            return [row for row in rows if row[0] in asked]
        return self.read_in(f"{sql} AND {key} IN", params, sorted(asked))

    def write_many(self, statements: Sequence[tuple[str, Sequence[Sequence[object]]]]) -> None:
        """Run several `executemany`s in one transaction (all or nothing)."""
        if self._db is None or self.read_only or not any(rows for _, rows in statements):
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for sql, rows in statements:
                    if rows:
                        self._db.executemany(sql, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            if self.journal is not None:
                self.journal.extend(
                    (sql, [list(r) for r in rows]) for sql, rows in statements if rows
                )

    def close(self) -> None:
        """Close the database."""
        if self._db is not None:
            with self._lock:
                self._db.close()
            self._db = None


def in_chunks(sql_in: str, values: Sequence[T]) -> Iterator[tuple[str, Sequence[T]]]:
    """`sql_in` (ending in `IN`) completed with one `?` per value, for each chunk of at most
    `LOOKUP_CHUNK` values (SQLite limits a statement's parameters), with the chunk."""
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        yield f"{sql_in} ({','.join('?' * len(chunk))})", chunk
