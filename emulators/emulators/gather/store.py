"""SQLite storage of the Gather emulator: records, events and their metadata.

One connection, used only from the server's event-loop thread, so each upsert is a
read-merge-write with no ``await`` in between; ``BEGIN IMMEDIATE`` also makes it atomic
against any other process opening the same file. Every write commits before the caller
answers, so a 2xx always follows its own commit.

Durability: the file is in WAL mode with ``synchronous=NORMAL``. A commit appends the
transaction to the ``-wal`` file with ``write()``; the bytes then belong to the operating
system, so killing the emulator (even ``kill -9``) right after a commit loses nothing. Only a
power cut or kernel crash before the next checkpoint's ``fsync`` could roll back the newest
commits, which is not a failure the emulator has to model.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# Bump when the tables change; older files are refused with a message (no silent migration).
SCHEMA_VERSION = 1
DB_FILENAME = "gather.sqlite3"
# SQLite waits this long for a lock held by another connection before failing.
BUSY_TIMEOUT_MS = 5_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    model TEXT NOT NULL,
    id TEXT NOT NULL,
    traits TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    writes INTEGER NOT NULL,
    PRIMARY KEY (model, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    user_id TEXT,
    account_id TEXT,
    properties TEXT NOT NULL,
    received_at TEXT NOT NULL
);
"""


class StoreError(RuntimeError):
    """The data directory cannot be used (wrong schema version, unwritable, ...)."""


def utc_now() -> str:
    """An ISO-8601 UTC timestamp with microseconds, e.g. ``2026-11-28T16:20:00.123456Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class StoredRecord:
    """A record as stored: its id, its traits (without ``id``) and its metadata."""

    id: str
    traits: dict[str, Any]
    created_at: str
    updated_at: str
    writes: int

    def flat(self) -> dict[str, Any]:
        """The record echoed the way Gather does: ``{"id": ..., **traits}``."""
        return {"id": self.id, **self.traits}

    def meta(self) -> dict[str, Any]:
        """Our read-back metadata (an extension, not part of Gather's contract)."""
        return {"created_at": self.created_at, "updated_at": self.updated_at, "writes": self.writes}


@dataclass(frozen=True)
class UpsertResult:
    """What an upsert did: the merged record and whether it created it."""

    record: StoredRecord
    created: bool


@dataclass(frozen=True)
class StoredEvent:
    """One accepted event."""

    seq: int
    type: str
    user: str | None
    account: str | None
    properties: dict[str, Any]
    received_at: str

    def to_json(self) -> dict[str, Any]:
        """The event as the API echoes it (``user`` or ``account``, never both)."""
        data: dict[str, Any] = {"id": self.seq, "type": self.type}
        if self.user is not None:
            data["user"] = self.user
        if self.account is not None:
            data["account"] = self.account
        data["properties"] = self.properties
        data["received_at"] = self.received_at
        return data


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Store:
    """Records and events in one SQLite database (a file in WAL mode, or in memory)."""

    def __init__(self, data_dir: Path | None) -> None:
        """Open (creating if needed) ``data_dir/gather.sqlite3``; ``None`` keeps it in memory."""
        self.path: Path | None = None
        if data_dir is None:
            target = ":memory:"
        else:
            try:
                data_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                msg = f"cannot create the data directory {data_dir}: {exc.strerror}"
                raise StoreError(msg) from exc
            self.path = data_dir / DB_FILENAME
            target = str(self.path)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per write.
        # check_same_thread=False: the store is built on one thread and served from the
        # event-loop thread; it is never used from two threads at once.
        self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if self.path is not None:
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                msg = f"SQLite refused WAL mode for {self.path} (got {mode!r})"
                raise StoreError(msg)
            self._db.execute("PRAGMA synchronous = NORMAL")
        self._check_schema()

    def _check_schema(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version not in (0, SCHEMA_VERSION):
            msg = (
                f"{self.path} holds emulator data of schema version {version}, this emulator "
                f"uses {SCHEMA_VERSION}: point --data-dir at a new folder or delete that one"
            )
            raise StoreError(msg)
        self._db.executescript(SCHEMA)
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        """Checkpoint and close the database (a clean shutdown leaves no ``-wal`` content)."""
        self._db.close()

    # -- records -------------------------------------------------------------------------

    def get(self, model: str, record_id: str) -> StoredRecord | None:
        """One record, or None when the id is unknown."""
        row = self._db.execute(
            "SELECT id, traits, created_at, updated_at, writes FROM records"
            " WHERE model = ? AND id = ?",
            (model, record_id),
        ).fetchone()
        return None if row is None else _record(row)

    def exists(self, model: str, record_id: str) -> bool:
        """Whether the record exists (decides between create and update rules)."""
        row = self._db.execute(
            "SELECT 1 FROM records WHERE model = ? AND id = ?", (model, record_id)
        ).fetchone()
        return row is not None

    def upsert(self, model: str, record_id: str, traits: Mapping[str, Any]) -> UpsertResult:
        """Merge `traits` over the stored ones (request wins, absent traits kept) and commit."""
        now = utc_now()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute(
                "SELECT traits, created_at, writes FROM records WHERE model = ? AND id = ?",
                (model, record_id),
            ).fetchone()
            if row is None:
                merged = dict(traits)
                created_at, writes = now, 1
            else:
                merged = {**json.loads(row[0]), **traits}
                created_at, writes = row[1], int(row[2]) + 1
            self._db.execute(
                "INSERT INTO records (model, id, traits, created_at, updated_at, writes)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (model, id) DO UPDATE SET traits = excluded.traits,"
                " updated_at = excluded.updated_at, writes = excluded.writes",
                (model, record_id, _dumps(merged), created_at, now, writes),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        record = StoredRecord(record_id, merged, created_at, now, writes)
        return UpsertResult(record=record, created=row is None)

    def delete(self, model: str, record_id: str) -> bool:
        """Delete one record; False when it did not exist."""
        cursor = self._db.execute(
            "DELETE FROM records WHERE model = ? AND id = ?", (model, record_id)
        )
        return cursor.rowcount > 0

    def count(self, model: str, account_id: str | None = None) -> int:
        """How many records a model holds (users optionally filtered by ``account_id``)."""
        where, params = _record_filter(model, account_id)
        row = self._db.execute(f"SELECT COUNT(*) FROM records WHERE {where}", params).fetchone()  # noqa: S608 (fixed fragments)
        return int(row[0])

    def page(
        self, model: str, offset: int, limit: int, account_id: str | None = None
    ) -> list[StoredRecord]:
        """Records ordered by id (a stable order for pagination)."""
        where, params = _record_filter(model, account_id)
        rows = self._db.execute(
            "SELECT id, traits, created_at, updated_at, writes FROM records"  # noqa: S608 (fixed fragments)
            f" WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [_record(row) for row in rows]

    def all_records(self, model: str) -> Iterator[StoredRecord]:
        """Every record of a model, ordered by id (for the admin dump)."""
        rows = self._db.execute(
            "SELECT id, traits, created_at, updated_at, writes FROM records"
            " WHERE model = ? ORDER BY id",
            (model,),
        )
        for row in rows:
            yield _record(row)

    def models(self) -> list[str]:
        """Models holding at least one record."""
        rows = self._db.execute("SELECT DISTINCT model FROM records ORDER BY model").fetchall()
        return [str(row[0]) for row in rows]

    # -- events --------------------------------------------------------------------------

    def add_event(
        self, event_type: str, user: str | None, account: str | None, properties: dict[str, Any]
    ) -> StoredEvent:
        """Store one event (committed before returning)."""
        now = utc_now()
        cursor = self._db.execute(
            "INSERT INTO events (type, user_id, account_id, properties, received_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (event_type, user, account, _dumps(properties), now),
        )
        seq = cursor.lastrowid
        if seq is None:  # pragma: no cover - sqlite always sets it after an INSERT
            msg = "SQLite returned no row id for the new event"
            raise StoreError(msg)
        return StoredEvent(seq, event_type, user, account, properties, now)

    def count_events(self, filters: Mapping[str, str]) -> int:
        """How many events match ``{"user"|"account"|"type": value}``."""
        where, params = _event_filter(filters)
        row = self._db.execute(f"SELECT COUNT(*) FROM events WHERE {where}", params).fetchone()  # noqa: S608 (fixed fragments)
        return int(row[0])

    def events(
        self, filters: Mapping[str, str], offset: int = 0, limit: int | None = None
    ) -> list[StoredEvent]:
        """Events in arrival order, filtered like `count_events`."""
        where, params = _event_filter(filters)
        rows = self._db.execute(
            "SELECT seq, type, user_id, account_id, properties, received_at FROM events"  # noqa: S608 (fixed fragments)
            f" WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",
            (*params, -1 if limit is None else limit, offset),
        ).fetchall()
        return [StoredEvent(int(r[0]), r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in rows]

    # -- admin ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Delete every record and event."""
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM records")
        self._db.execute("DELETE FROM events")
        self._db.execute("COMMIT")


def _record(row: tuple[Any, ...]) -> StoredRecord:
    return StoredRecord(str(row[0]), json.loads(row[1]), row[2], row[3], int(row[4]))


def _record_filter(model: str, account_id: str | None) -> tuple[str, tuple[str, ...]]:
    if account_id is None:
        return "model = ?", (model,)
    # Traits may hold the link as a number; compare as text, like the id itself.
    return (
        "model = ? AND CAST(json_extract(traits, '$.account_id') AS TEXT) = ?",
        (model, account_id),
    )


EVENT_FILTER_COLUMNS = {"user": "user_id", "account": "account_id", "type": "type"}


def _event_filter(filters: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    clauses = ["1 = 1"]
    params: list[str] = []
    for name, column in EVENT_FILTER_COLUMNS.items():
        if name in filters:
            clauses.append(f"{column} = ?")
            params.append(filters[name])
    return " AND ".join(clauses), tuple(params)
