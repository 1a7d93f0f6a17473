"""The ledger's durable copy, for runners without a disk (`ledger_uri`).

The SQLite ledger (digests and identity map) stays the local working copy; its durable copy lives
next to Meltano's state (`<ledger_uri>/target-gather/<workspace hash>/`; `file://` directories
natively, `s3://bucket/prefix` with boto3 installed in the target's environment):

- `base-<N>.sqlite3` + `MANIFEST` (JSON: `{"base": ..., "after": N}`): a snapshot of this
  workspace's rows, covering journal segments up to N;
- `journal-<N>.segment` (JSON): every ledger write since, one segment per checkpoint, written
  (atomically) **before** the target emits the STATE that follows those writes.

No name ends in `.json`: tools reading Meltano's state files in the same place ignore these.

So a STATE never claims more than the durable copy knows: a crash before a segment is written
loses only rows whose records the next run sends again (the STATE did not move past them), and
the identity map they would have changed still holds the old Gather ids, so a key change or a
merge in between is still found. At start the workspace's rows are rebuilt from base + journal;
at the end, when the journal has grown, the rows are compacted into a new base (manifest switched
atomically, then old segments removed: a crash in between only leaves segments the manifest
already covers, which restore skips).

A copy written before the ledger had its `origin` column restores unchanged: the base's columns
are matched by name (`origin` takes its default, ''), and old segments' statements name their
columns, so they replay as written; the first run then claims those rows (`migrate.py`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from target_gather.migrate import columns

MANIFEST = "MANIFEST"
SEGMENT_PREFIX = "journal-"
SEGMENT_SUFFIX = ".segment"
# Compact when the journal holds this many segments (each checkpoint writes at most one).
COMPACT_SEGMENTS = 50
TABLES = ("accepted", "identity")

Statement = tuple[str, Sequence[Sequence[object]]]


class DurableError(ValueError):
    """The durable copy cannot be used; the message names the setting and the fix."""


def _encode(value: object) -> object:
    return {"b": value.hex()} if isinstance(value, bytes) else value


def _decode(value: object) -> object:
    if isinstance(value, dict) and "b" in value:
        return bytes.fromhex(str(value["b"]))
    return value


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class Store(Protocol):
    """Named blobs in one folder of durable storage; `put` is atomic (all or nothing)."""

    def names(self) -> list[str]: ...
    def get(self, name: str) -> bytes | None: ...
    def put(self, name: str, data: bytes) -> None: ...
    def delete(self, name: str) -> None: ...


class FileStore:
    """A local (mounted) directory; writes are fsynced and renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def names(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if not p.name.endswith(".tmp"))

    def get(self, name: str) -> bytes | None:
        path = self.root / name
        return path.read_bytes() if path.exists() else None

    def put(self, name: str, data: bytes) -> None:
        _write_atomically(self.root / name, data)

    def delete(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)


class S3Store:
    """An S3 prefix (boto3, credentials from the usual AWS environment)."""

    def __init__(self, bucket: str, prefix: str) -> None:
        try:
            import boto3  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415
        except ImportError:
            msg = (
                "ledger_uri is an s3:// URI but boto3 is not installed in target-gather's "
                "environment. Fix: install it there (scripts/scheduled-run.sh does), or use a "
                "file:// ledger_uri."
            )
            raise DurableError(msg) from None
        self.client: Any = boto3.client("s3")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/"

    def names(self) -> list[str]:
        found: list[str] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            found += [str(o["Key"])[len(self.prefix) :] for o in page.get("Contents", [])]
        return sorted(found)

    def get(self, name: str) -> bytes | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"]
        except self.client.exceptions.NoSuchKey:
            return None
        data: bytes = body.read()
        return data

    def put(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + name, Body=data)

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + name)


def open_store(uri: str, workspace: str) -> Store:
    """The store for `ledger_uri`, one folder per Gather workspace (a hash, never the key)."""
    parts = urlsplit(uri)
    folder = f"target-gather/{hashlib.sha256(workspace.encode()).hexdigest()[:16]}"
    if parts.scheme == "file":
        return FileStore(Path(unquote(parts.path)) / folder)
    if parts.scheme == "s3":
        return S3Store(parts.netloc, f"{parts.path.strip('/')}/{folder}")
    msg = (
        f"ledger_uri scheme {parts.scheme or uri!r} is not supported: give a file:// directory "
        "(a mounted bucket or shared disk) or an s3:// prefix, or leave ledger_uri empty to "
        "keep only the local ledger_path."
    )
    raise DurableError(msg)


class DurableLedger:
    """The durable copy of one workspace's ledger rows: a base snapshot plus a journal."""

    def __init__(self, store: Store, workspace: str, scratch: Path) -> None:
        self.store = store
        self.workspace = workspace
        self.scratch = scratch  # a local folder for snapshot files
        self._names = store.names()
        self._next = self._last_segment() + 1

    def _segments(self) -> list[tuple[int, str]]:
        found = []
        for name in self._names:
            number = name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)]
            if (
                name.startswith(SEGMENT_PREFIX)
                and name.endswith(SEGMENT_SUFFIX)
                and number.isdigit()
            ):
                found.append((int(number), name))
        return sorted(found)

    def _last_segment(self) -> int:
        covered = int(self._manifest().get("after", 0))
        return max([covered, *(n for n, _ in self._segments())])

    def _manifest(self) -> dict[str, Any]:
        raw = self.store.get(MANIFEST) if MANIFEST in self._names else None
        if raw is None:
            return {}
        data: dict[str, Any] = json.loads(raw)
        return data

    def restore(self, db: sqlite3.Connection) -> int:
        """Replace this workspace's rows in `db` with the durable copy; returns segments read."""
        manifest = self._manifest()
        covered = int(manifest.get("after", 0))
        base_bytes = self.store.get(str(manifest["base"])) if manifest.get("base") else None
        base = self.scratch / "durable-base.sqlite3"
        if base_bytes is not None:
            self.scratch.mkdir(parents=True, exist_ok=True)
            base.write_bytes(base_bytes)
            db.execute("ATTACH DATABASE ? AS durable", (f"file:{base}?mode=ro",))
        replayed = 0
        try:
            db.execute("BEGIN")
            try:
                for table in TABLES:
                    db.execute(f"DELETE FROM {table} WHERE workspace = ?", (self.workspace,))  # noqa: S608
                    if base_bytes is not None:
                        # A base written before a column existed (`origin`) fills its default.
                        wanted = columns(db, table)
                        shared = ", ".join(c for c in columns(db, table, "durable") if c in wanted)
                        db.execute(
                            f"INSERT OR REPLACE INTO main.{table} ({shared}) SELECT {shared} "  # noqa: S608
                            f"FROM durable.{table} WHERE workspace = ?",
                            (self.workspace,),
                        )
                for number, name in self._segments():
                    if number <= covered:
                        continue
                    raw = self.store.get(name)
                    for sql, rows in json.loads(raw or b"[]"):
                        db.executemany(sql, [[_decode(v) for v in row] for row in rows])
                    replayed += 1
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            if base_bytes is not None:
                db.execute("DETACH DATABASE durable")
                base.unlink(missing_ok=True)
        return replayed

    def append(self, statements: Sequence[tuple[str, Sequence[Sequence[object]]]]) -> None:
        """Write one journal segment durably (before the STATE it precedes is emitted)."""
        if not statements:
            return
        payload = [[sql, [[_encode(v) for v in row] for row in rows]] for sql, rows in statements]
        name = f"{SEGMENT_PREFIX}{self._next:010d}{SEGMENT_SUFFIX}"
        self.store.put(name, json.dumps(payload, separators=(",", ":")).encode())
        self._names.append(name)
        self._next += 1

    def segment_count(self) -> int:
        """Journal segments not yet covered by the base."""
        covered = int(self._manifest().get("after", 0))
        return sum(1 for n, _ in self._segments() if n > covered)

    def compact(self, db: sqlite3.Connection, schema: Sequence[str]) -> None:
        """Snapshot this workspace's rows as the new base, then drop the covered segments."""
        after = self._next - 1
        self.scratch.mkdir(parents=True, exist_ok=True)
        tmp = self.scratch / "durable-snapshot.sqlite3"
        tmp.unlink(missing_ok=True)
        db.execute("ATTACH DATABASE ? AS snapshot", (str(tmp),))
        try:
            for statement in schema:
                db.execute(statement.replace("IF NOT EXISTS ", "IF NOT EXISTS snapshot.", 1))
            for table in TABLES:
                db.execute(
                    f"INSERT INTO snapshot.{table} SELECT * FROM main.{table} WHERE workspace = ?",  # noqa: S608
                    (self.workspace,),
                )
        finally:
            db.execute("DETACH DATABASE snapshot")
        name = f"base-{after:010d}.sqlite3"
        self.store.put(name, tmp.read_bytes())
        tmp.unlink(missing_ok=True)
        old = self._manifest().get("base")
        self.store.put(MANIFEST, json.dumps({"base": name, "after": after}).encode())
        self._names = self.store.names()
        for number, segment in self._segments():
            if number <= after:
                self.store.delete(segment)
        if old and old != name:
            self.store.delete(str(old))
        self._names = self.store.names()
