"""The identity map: which Gather id this integration wrote for each source record.

Gather keys records by the ID a customer chose (an internal property, HubSpot's own id, or an
email); that value can change, be cleared, or move to another record. The source's own record
id (HubSpot's object id) does not, so the target remembers, per workspace, model, stream and
origin (the source's portal: a HubSpot record id is unique within its portal only),
`source id -> Gather id` and the `version` of the last complete pass that saw the record. From
it the sink learns the Gather record a key change, a cleared ID or a merge leaves behind, and
whether any live source record, of any stream or portal, still holds a Gather id (then it is
never deleted).

The rows live in the ledger's SQLite file (same connection, same crash rules): they are written
only after Gather acknowledged what they describe, so a crash can only cause re-deciding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from target_gather.ledger import Ledger
from target_gather.migrate import ORIGIN_COLUMN, upgrade

SCHEMA = (
    f"""
CREATE TABLE IF NOT EXISTS identity (
    workspace TEXT NOT NULL,
    model TEXT NOT NULL,
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    gather_id TEXT NOT NULL,
    version INTEGER,
    link TEXT,
    {ORIGIN_COLUMN},
    PRIMARY KEY (workspace, model, source, origin, source_id)
) WITHOUT ROWID
""",
    "CREATE INDEX IF NOT EXISTS identity_by_gather ON identity (workspace, model, gather_id)",
    "CREATE INDEX IF NOT EXISTS identity_by_link ON identity (workspace, model, link)",
)
# The indexes of the table before `origin` (dropped when it is rebuilt, see migrate.py).
OLD_INDEXES = ("identity_gather", "identity_link")

BY_SOURCE_SQL = (
    "SELECT source_id, gather_id, link FROM identity WHERE workspace = ? AND model = ? "
    "AND source = ? AND origin = ?"
)
BY_LINK_SQL = (
    "SELECT source, origin, source_id, gather_id FROM identity WHERE workspace = ? AND "
    "model = ? AND link IN"
)
BY_GATHER_SQL = (
    "SELECT gather_id, source, origin, source_id FROM identity WHERE workspace = ? AND "
    "model = ? AND gather_id IN"
)


@dataclass(frozen=True)
class Holder:
    """One source record: its stream, origin (portal) and own id."""

    stream: str
    origin: str
    source_id: str


class IdentityMap:
    """Source record id -> Gather id rows of one workspace, in the ledger's database."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.workspace = ledger.workspace
        if not ledger.read_only:
            moved = ledger.with_connection(
                lambda db: upgrade(db, "identity", SCHEMA[0], OLD_INDEXES)
            )
            ledger.migrated += moved or 0
        for statement in SCHEMA:
            ledger.execute_schema(statement)

    def lookup(
        self, model: str, source: str, origin: str, source_ids: Iterable[str]
    ) -> dict[str, tuple[str, str | None]]:
        """The (Gather id, link) written for each of `source_ids` that has one."""
        rows = self.ledger.read_keys(
            BY_SOURCE_SQL, "source_id", (self.workspace, model, source, origin), source_ids
        )
        # TEXT columns written only with str values: SQLite returns them as str already (no
        # per-row conversion: this runs for every record of a tracked stream).
        return {s: (g, k) for s, g, k in cast("list[tuple[str, str, str | None]]", rows)}

    def holders(self, model: str, gather_ids: Iterable[str]) -> dict[str, set[Holder]]:
        """For each Gather id, the source records holding it, in any stream and origin."""
        found: dict[str, set[Holder]] = {}
        rows = self.ledger.read_in(BY_GATHER_SQL, (self.workspace, model), sorted(set(gather_ids)))
        for gather_id, source, origin, source_id in rows:
            holder = Holder(str(source), str(origin), str(source_id))
            found.setdefault(str(gather_id), set()).add(holder)
        return found

    def linked(self, model: str, links: Iterable[str]) -> list[tuple[Holder, str]]:
        """(holder, Gather id) of the records last sent linked to one of `links` (a user's
        `account_id`)."""
        rows = self.ledger.read_in(BY_LINK_SQL, (self.workspace, model), sorted(set(links)))
        return [(Holder(str(a), str(o), str(b)), str(c)) for a, o, b, c in rows]

    def unlink(self, model: str, rows: Iterable[Holder]) -> None:
        """Forget the link of these source records (it was cleared in Gather)."""
        self.ledger.write_many(
            [
                (
                    "UPDATE identity SET link = NULL WHERE workspace = ? AND model = ? AND "
                    "source = ? AND origin = ? AND source_id = ?",
                    [(self.workspace, model, h.stream, h.origin, h.source_id) for h in rows],
                )
            ]
        )

    def count(self, model: str, source: str, origin: str) -> int:
        """How many source records of one stream of one origin hold a Gather id."""
        rows = self.ledger.read(
            "SELECT COUNT(*) FROM identity WHERE workspace = ? AND model = ? AND source = ? "
            "AND origin = ?",
            (self.workspace, model, source, origin),
        )
        return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]

    def stale(self, model: str, source: str, origin: str, version: int) -> list[tuple[str, str]]:
        """(source id, Gather id) rows a complete pass of `version` did not see."""
        rows = self.ledger.read(
            "SELECT source_id, gather_id FROM identity WHERE workspace = ? AND model = ? AND "
            "source = ? AND origin = ? AND (version IS NULL OR version < ?)",
            (self.workspace, model, source, origin, version),
        )
        return [(str(s), str(g)) for s, g in rows]

    def claim(self, model: str, source: str, origin: str) -> None:
        """Rows written before sources had an origin become `origin`'s (see migrate.py)."""
        self.ledger.claim(model, source, origin, table="identity")

    def apply(
        self,
        model: str,
        source: str,
        origin: str,
        updates: Sequence[tuple[str, str | None, int | None, str | None]],
    ) -> None:
        """Write (source id, Gather id or None to forget it, version, link) rows at once."""
        ws = self.workspace
        keep = [(ws, model, source, origin, s, g, v, k) for s, g, v, k in updates if g is not None]
        drop = [(ws, model, source, origin, s) for s, g, _, _ in updates if g is None]
        self.ledger.write_many(
            [
                (
                    "DELETE FROM identity WHERE workspace = ? AND model = ? AND source = ? "
                    "AND origin = ? AND source_id = ?",
                    drop,
                ),
                (
                    "INSERT OR REPLACE INTO identity (workspace, model, source, origin, "
                    "source_id, gather_id, version, link) VALUES (?, ?, ?, ?, ?, ?, COALESCE(?, "
                    "(SELECT version FROM identity WHERE workspace = ? AND model = ? AND "
                    "source = ? AND origin = ? AND source_id = ? AND gather_id = ?)), ?)",
                    [(*row[:7], *row[:6], row[7]) for row in keep],
                ),
            ]
        )
