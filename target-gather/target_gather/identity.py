"""The identity map: which Gather id this integration wrote for each source record.

Gather keys records by the ID a customer chose (an internal property, HubSpot's own id, or an
email); that value can change, be cleared, or move to another record. The source's own record
id (HubSpot's object id) does not, so the target remembers, per workspace, model and stream,
`source id -> Gather id` and the `version` of the last complete pass that saw the record. From
it the sink learns the Gather record a key change, a cleared ID or a merge leaves behind, and
whether any live source record still holds a Gather id (then it is never deleted).

The rows live in the ledger's SQLite file (same connection, same crash rules): they are written
only after Gather acknowledged what they describe, so a crash can only cause re-deciding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from target_gather.ledger import Ledger

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS identity (
    workspace TEXT NOT NULL,
    model TEXT NOT NULL,
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    gather_id TEXT NOT NULL,
    version INTEGER,
    link TEXT,
    PRIMARY KEY (workspace, model, source, source_id)
) WITHOUT ROWID
""",
    "CREATE INDEX IF NOT EXISTS identity_gather ON identity (workspace, model, gather_id)",
    "CREATE INDEX IF NOT EXISTS identity_link ON identity (workspace, model, link)",
)

BY_SOURCE_SQL = (
    "SELECT source_id, gather_id, link FROM identity WHERE workspace = ? AND model = ? "
    "AND source = ? AND source_id IN"
)
BY_LINK_SQL = (
    "SELECT source, source_id, gather_id FROM identity WHERE workspace = ? AND model = ? "
    "AND link IN"
)
BY_GATHER_SQL = (
    "SELECT gather_id, source, source_id FROM identity WHERE workspace = ? AND model = ? "
    "AND gather_id IN"
)


class IdentityMap:
    """Source record id -> Gather id rows of one workspace, in the ledger's database."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.workspace = ledger.workspace
        for statement in SCHEMA:
            ledger.execute_schema(statement)

    def lookup(
        self, model: str, source: str, source_ids: Iterable[str]
    ) -> dict[str, tuple[str, str | None]]:
        """The (Gather id, link) written for each of `source_ids` that has one."""
        found: dict[str, tuple[str, str | None]] = {}
        rows = self.ledger.read_in(
            BY_SOURCE_SQL, (self.workspace, model, source), sorted(set(source_ids))
        )
        found.update((str(s), (str(g), None if k is None else str(k))) for s, g, k in rows)
        return found

    def holders(self, model: str, gather_ids: Iterable[str]) -> dict[str, set[tuple[str, str]]]:
        """For each Gather id, the (stream, source id) rows holding it, in any stream."""
        found: dict[str, set[tuple[str, str]]] = {}
        rows = self.ledger.read_in(BY_GATHER_SQL, (self.workspace, model), sorted(set(gather_ids)))
        for gather_id, source, source_id in rows:
            found.setdefault(str(gather_id), set()).add((str(source), str(source_id)))
        return found

    def linked(self, model: str, links: Iterable[str]) -> list[tuple[str, str, str]]:
        """(stream, source id, Gather id) of the records last sent linked to one of `links`
        (a user's `account_id`)."""
        rows = self.ledger.read_in(BY_LINK_SQL, (self.workspace, model), sorted(set(links)))
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    def unlink(self, model: str, rows: Iterable[tuple[str, str]]) -> None:
        """Forget the link of these (stream, source id) rows (it was cleared in Gather)."""
        self.ledger.write_many(
            [
                (
                    "UPDATE identity SET link = NULL WHERE workspace = ? AND model = ? AND "
                    "source = ? AND source_id = ?",
                    [(self.workspace, model, source, sid) for source, sid in rows],
                )
            ]
        )

    def stale(self, model: str, source: str, version: int) -> list[tuple[str, str]]:
        """(source id, Gather id) rows a complete pass of `version` did not see."""
        rows = self.ledger.read(
            "SELECT source_id, gather_id FROM identity WHERE workspace = ? AND model = ? AND "
            "source = ? AND (version IS NULL OR version < ?)",
            (self.workspace, model, source, version),
        )
        return [(str(s), str(g)) for s, g in rows]

    def apply(
        self,
        model: str,
        source: str,
        updates: Sequence[tuple[str, str | None, int | None, str | None]],
    ) -> None:
        """Write (source id, Gather id or None to forget it, version, link) rows at once."""
        keep = [
            (self.workspace, model, source, s, g, v, link)
            for s, g, v, link in updates
            if g is not None
        ]
        drop = [(self.workspace, model, source, s) for s, g, _, _ in updates if g is None]
        self.ledger.write_many(
            [
                (
                    "DELETE FROM identity WHERE workspace = ? AND model = ? AND source = ? "
                    "AND source_id = ?",
                    drop,
                ),
                (
                    "INSERT OR REPLACE INTO identity (workspace, model, source, source_id, "
                    "gather_id, version, link) VALUES (?, ?, ?, ?, ?, COALESCE(?, (SELECT "
                    "version FROM identity WHERE workspace = ? AND model = ? AND source = ? AND "
                    "source_id = ? AND gather_id = ?)), ?)",
                    [(*row[:6], *row[:4], row[4], row[6]) for row in keep],
                ),
            ]
        )
