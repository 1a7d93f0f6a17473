"""Where scanned ID values go so a portal of any size is checked in bounded memory.

Every scanned record becomes one row of an on-disk SQLite table, one table per object type
(HubSpot id, normalized ID value, raw value, primary company). Memory holds only one page of
records and SQLite's page cache (`CACHE_PAGES_KIB`); duplicates are found by an index build
plus `GROUP BY` inside SQLite, which sorts externally (temporary files) when the data outgrows
the cache. The file lives in a private temporary folder and is deleted on `close()`: ID
values may be emails (PII).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# SQLite page cache per connection, negative = KiB (sqlite.org/pragma.html#pragma_cache_size).
CACHE_PAGES_KIB = -16_384
# Rows per `SELECT` batch when streaming results back out (keeps Python-side memory flat).
FETCH_BATCH = 1_000

# One per object type, created on first use; named by position, never by the object type.
_RECORDS_TABLE = """
CREATE TABLE {table} (
    seq INTEGER PRIMARY KEY,
    hubspot_id TEXT NOT NULL,
    id_value TEXT,
    raw_value TEXT,
    company_id TEXT
)
"""
_SCHEMA = """
CREATE TABLE archived (
    object_type TEXT NOT NULL,
    hubspot_id TEXT NOT NULL,
    id_value TEXT
);
CREATE TABLE candidate_values (
    object_type TEXT NOT NULL,
    property TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE company_accounts (
    company_id TEXT PRIMARY KEY,
    account_id TEXT
);
"""


@dataclass(frozen=True)
class ScannedRecord:
    """What the check keeps of one HubSpot record."""

    hubspot_id: str
    id_value: str | None  # normalized exactly as the sync keys it; None: no usable ID
    raw_value: str | None  # as HubSpot stores it (shows case/whitespace variants)
    company_id: str | None = None  # objects linking to accounts: the primary company's id


@dataclass
class DuplicateGroup:
    """One ID value shared by several records."""

    value: str
    count: int
    hubspot_ids: list[str] = field(default_factory=list)  # in HubSpot id order, capped
    raw_values: list[str | None] = field(default_factory=list)  # parallel to hubspot_ids


@dataclass
class Duplicates:
    """Every shared ID value (counted) and the first groups in detail."""

    values: int  # distinct ID values held by more than one record
    records: int  # records holding such a value
    groups: list[DuplicateGroup]


@dataclass(frozen=True)
class CandidateStats:
    """A candidate ID property's values over every scanned record."""

    filled: int  # records with a usable value
    duplicate_values: int  # values held by more than one record
    duplicate_records: int  # records holding such a value


class IdStore:
    """A temporary on-disk SQLite database of scanned ID values."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="hubspot-check-", dir=directory))
        self.path = self._folder / "ids.sqlite3"
        self._db = sqlite3.connect(self.path)
        self._db.execute(f"PRAGMA cache_size = {CACHE_PAGES_KIB}")
        # A throwaway file: no journal and no fsync; a crash just means re-running the check.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.executescript(_SCHEMA)
        self._indexed: set[str] = set()
        self._tables: dict[str, str] = {}  # object type -> its records table

    def close(self) -> None:
        """Close and delete the database (and its folder)."""
        self._db.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> IdStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # Writing ----------------------------------------------------------------------------

    def add(self, object_type: str, records: Sequence[ScannedRecord]) -> None:
        """Append one page of scanned records."""
        table = self._table(object_type)
        with self._db:
            self._db.executemany(
                f"INSERT INTO {table} (hubspot_id, id_value, raw_value, company_id) "  # noqa: S608 (generated name)
                "VALUES (?, ?, ?, ?)",
                [(r.hubspot_id, r.id_value, r.raw_value, r.company_id) for r in records],
            )

    def add_company_accounts(self, pairs: Iterable[tuple[str, str | None]]) -> None:
        """Record companies' account IDs (from the companies scan or a batch read)."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO company_accounts (company_id, account_id) VALUES (?, ?)",
                pairs,
            )

    def add_candidates(self, object_type: str, values: Iterable[tuple[str, str]]) -> None:
        """Append `(property, normalized value)` pairs of candidate ID properties (`--suggest`)."""
        with self._db:
            self._db.executemany(
                "INSERT INTO candidate_values (object_type, property, value) VALUES (?, ?, ?)",
                ((object_type, name, value) for name, value in values),
            )

    def add_archived(self, object_type: str, records: Sequence[ScannedRecord]) -> None:
        """Append one page of archived records (HubSpot id and normalized ID value)."""
        with self._db:
            self._db.executemany(
                "INSERT INTO archived (object_type, hubspot_id, id_value) VALUES (?, ?, ?)",
                [(object_type, r.hubspot_id, r.id_value) for r in records],
            )

    # Reading ----------------------------------------------------------------------------

    def archived_stats(self, object_type: str, sample: int) -> tuple[int, int, list[str]]:
        """Archived records: how many, how many whose ID a live record holds, sample of those."""
        table = self._index(object_type)
        total = self._db.execute(
            "SELECT COUNT(*) FROM archived WHERE object_type = ?", (object_type,)
        ).fetchone()[0]
        held = (
            "FROM archived a WHERE a.object_type = ? AND a.id_value IS NOT NULL AND EXISTS "  # noqa: S608 (generated name)
            f"(SELECT 1 FROM {table} l WHERE l.id_value = a.id_value)"
        )
        count = self._db.execute(f"SELECT COUNT(*) {held}", (object_type,)).fetchone()[0]
        ids = [
            str(r[0])
            for r in self._db.execute(
                f"SELECT a.hubspot_id {held} ORDER BY a.rowid LIMIT ?", (object_type, sample)
            )
        ]
        return int(total), int(count), ids

    def candidate_stats(self, object_type: str, name: str) -> CandidateStats:
        """How many records fill candidate `name`, and how many values/records are shared."""
        if "candidate_values" not in self._indexed:
            with self._db:
                self._db.execute(
                    "CREATE INDEX IF NOT EXISTS candidates_by_value "
                    "ON candidate_values (object_type, property, value)"
                )
            self._indexed.add("candidate_values")
        where = "object_type = ? AND property = ?"
        filled = self._db.execute(
            f"SELECT COUNT(*) FROM candidate_values WHERE {where}",  # noqa: S608 (literal)
            (object_type, name),
        ).fetchone()[0]
        shared = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(n), 0) FROM (SELECT COUNT(*) AS n "  # noqa: S608
            f"FROM candidate_values WHERE {where} GROUP BY value HAVING n > 1)",
            (object_type, name),
        ).fetchone()
        return CandidateStats(int(filled), int(shared[0]), int(shared[1]))

    def count(self, object_type: str) -> int:
        """Records scanned."""
        return self._scalar(f"SELECT COUNT(*) FROM {self._table(object_type)}")  # noqa: S608

    def missing(self, object_type: str, sample: int) -> tuple[int, list[str]]:
        """How many records have no ID value, and the first `sample` of their HubSpot ids."""
        return self._count_and_sample(self._table(object_type), "id_value IS NULL", sample)

    def duplicates(self, object_type: str, max_groups: int, max_ids: int) -> Duplicates:
        """ID values held by more than one record: totals and the biggest groups."""
        table = self._index(object_type)
        shared = (
            f"SELECT id_value, COUNT(*) AS n, MIN(seq) AS first FROM {table} "  # noqa: S608
            "WHERE id_value IS NOT NULL GROUP BY id_value HAVING n > 1"
        )
        totals = f"SELECT COUNT(*), COALESCE(SUM(n), 0) FROM ({shared})"  # noqa: S608
        row = self._db.execute(totals).fetchone()
        groups: list[DuplicateGroup] = []
        top = self._db.execute(f"{shared} ORDER BY n DESC, first LIMIT ?", (max_groups,)).fetchall()
        for value, n, _first in top:
            members = self._db.execute(
                f"SELECT hubspot_id, raw_value FROM {table} "  # noqa: S608
                "WHERE id_value = ? ORDER BY seq LIMIT ?",
                (value, max_ids),
            ).fetchall()
            groups.append(
                DuplicateGroup(
                    value=str(value),
                    count=int(n),
                    hubspot_ids=[str(m[0]) for m in members],
                    raw_values=[m[1] for m in members],
                )
            )
        return Duplicates(values=int(row[0]), records=int(row[1]), groups=groups)

    def without_company(self, object_type: str, sample: int) -> tuple[int, list[str]]:
        """Records with no primary company: count and sample HubSpot ids."""
        return self._count_and_sample(self._table(object_type), "company_id IS NULL", sample)

    def unknown_companies(self, object_type: str) -> Iterator[list[str]]:
        """Primary companies of `object_type`'s records whose account ID is not recorded yet,
        in batches.

        They are copied to a side table first, so the caller may record their account IDs
        between batches without disturbing the iteration.
        """
        table = self._table(object_type)
        with self._db:
            self._db.execute("DROP TABLE IF EXISTS pending")
            self._db.execute("CREATE TABLE pending (n INTEGER PRIMARY KEY, company_id TEXT)")
            self._db.execute(
                "INSERT INTO pending (company_id) SELECT DISTINCT c.company_id "  # noqa: S608
                f"FROM {table} c LEFT JOIN company_accounts a ON a.company_id = c.company_id "
                "WHERE c.company_id IS NOT NULL AND a.company_id IS NULL"
            )
        last = 0
        while True:
            rows = self._db.execute(
                "SELECT n, company_id FROM pending WHERE n > ? ORDER BY n LIMIT ?",
                (last, FETCH_BATCH),
            ).fetchall()
            if not rows:
                return
            last = int(rows[-1][0])
            yield [str(r[1]) for r in rows]

    def linked_without_account(
        self, object_type: str, sample: int
    ) -> tuple[int, list[str], list[str]]:
        """Records whose primary company has no account ID: count, sample records, companies."""
        table = self._table(object_type)
        where = (
            "company_id IS NOT NULL AND company_id NOT IN "
            "(SELECT company_id FROM company_accounts WHERE account_id IS NOT NULL)"
        )
        count, records = self._count_and_sample(table, where, sample)
        companies = [
            str(r[0])
            for r in self._db.execute(
                f"SELECT company_id FROM {table} WHERE {where} "  # noqa: S608
                "GROUP BY company_id ORDER BY MIN(seq) LIMIT ?",
                (sample,),
            )
        ]
        return count, records, companies

    # Helpers ----------------------------------------------------------------------------

    def _table(self, object_type: str) -> str:
        """The records table of `object_type`, created on first use."""
        table = self._tables.get(object_type)
        if table is None:
            table = f"records_{len(self._tables)}"
            with self._db:
                self._db.execute(_RECORDS_TABLE.format(table=table))
            self._tables[object_type] = table
        return table

    def _index(self, object_type: str) -> str:
        """The records table of `object_type`, indexed by ID value (built once, when read)."""
        table = self._table(object_type)
        if table not in self._indexed:
            with self._db:
                self._db.execute(
                    f"CREATE INDEX IF NOT EXISTS {table}_by_value ON {table} (id_value)"
                )
            self._indexed.add(table)
        return table

    def _count_and_sample(self, table: str, where: str, sample: int) -> tuple[int, list[str]]:
        count = self._scalar(f"SELECT COUNT(*) FROM {table} WHERE {where}")  # noqa: S608
        ids = [
            str(r[0])
            for r in self._db.execute(
                f"SELECT hubspot_id FROM {table} WHERE {where} ORDER BY seq LIMIT ?",  # noqa: S608
                (sample,),
            )
        ]
        return count, ids

    def _scalar(self, sql: str) -> int:
        row = self._db.execute(sql).fetchone()
        return int(row[0]) if row else 0
