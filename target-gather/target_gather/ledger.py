"""The SQLite hash ledger: what Gather last accepted, so unchanged records are not re-sent.

Rows are keyed by workspace (the api_url plus a fingerprint of the key, never the key itself),
model, source stream and id, and hold a digest of the body Gather accepted. Two sources that
update the same record (HubSpot and a billing tap) keep separate rows, so neither re-sends
everything because the other ran in between.

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
from typing import TypeVar

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS accepted (
    workspace TEXT NOT NULL,
    model TEXT NOT NULL,
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    digest BLOB NOT NULL,
    PRIMARY KEY (workspace, model, source, id)
) WITHOUT ROWID
"""
# SQLite's default SQLITE_MAX_VARIABLE_NUMBER is 32766 (>= 3.32); stay far below it.
LOOKUP_CHUNK = 500
LOOKUP_SQL = "SELECT id, digest FROM accepted WHERE workspace = ? AND model = ? AND source = ?"
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
        if not read_only:
            self._db.execute(SCHEMA)

    def lookup(self, model: str, source: str, ids: Sequence[str]) -> dict[str, bytes]:
        """The stored digests of those `ids` that have one."""
        if self._db is None or not ids:
            return {}
        found: dict[str, bytes] = {}
        with self._lock:
            for sql, chunk in in_chunks(f"{LOOKUP_SQL} AND id IN", ids):
                try:
                    rows = self._db.execute(sql, (self.workspace, model, source, *chunk))
                except sqlite3.OperationalError:  # read-only and never created
                    return {}
                found.update(rows)
        return found

    def forget(self, model: str, source: str, ids: Iterable[str]) -> None:
        """Drop the rows of records about to be sent (committed before sending)."""
        sql = "DELETE FROM accepted WHERE workspace = ? AND model = ? AND source = ? AND id = ?"
        self.write_many([(sql, [(self.workspace, model, source, i) for i in ids])])

    def forget_everywhere(self, model: str, ids: Iterable[str]) -> None:
        """Drop every source's rows for deleted records, so a re-creation is always sent."""
        sql = "DELETE FROM accepted WHERE workspace = ? AND model = ? AND id = ?"
        self.write_many([(sql, [(self.workspace, model, i) for i in ids])])

    def remember(self, model: str, source: str, entries: Iterable[tuple[str, bytes]]) -> None:
        """Record what Gather acknowledged (called only after acknowledgement)."""
        sql = (
            "INSERT OR REPLACE INTO accepted (workspace, model, source, id, digest) "
            "VALUES (?, ?, ?, ?, ?)"
        )
        self.write_many([(sql, [(self.workspace, model, source, i, d) for i, d in entries])])

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
