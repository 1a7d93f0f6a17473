"""What the ledger's upgrade to per-portal rows costs: a 0.1 ledger of N rows per table.

`python -m bench.ledger_migration [--rows 100000] [--json PATH]`

A ledger written by version 0.1 (no `origin` column; `accepted` and `identity` with N rows
each, one workspace, one stream) is opened by this version, which rebuilds both tables
(`migrate.upgrade`); the stream's first run then claims its rows for its portal
(`Ledger.claim`, `IdentityMap.claim`). Its durable copy (that 0.1 file as base snapshot)
restores by column name. Each is timed against a reference measured in the same run on the
same data:

- **open**: the upgrade (open + rebuild) against opening the migrated ledger again (no-op);
- **claim**: claiming every row against one ledger lookup of every id (what an unchanged
  re-run of N records does anyway);
- **restore**: restoring the 0.1 base snapshot against restoring a current one.

The migration runs once per ledger; these figures are its whole cost.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from target_gather.durable import DurableLedger, FileStore
from target_gather.identity import IdentityMap
from target_gather.ledger import Ledger
from target_gather.migrate import V1_SCHEMA

WORKSPACE = "https://api.gatherdata.co#0123456789abcdef"
MODEL, STREAM, PORTAL = "user", "contacts", "24680135"


def _digest(i: int) -> bytes:
    return hashlib.blake2b(str(i).encode(), digest_size=16).digest()


def build_v1(path: Path, rows: int) -> None:
    """A 0.1 ledger with `rows` accepted rows and `rows` identity rows."""
    db = sqlite3.connect(path, isolation_level=None)
    for statement in V1_SCHEMA:
        db.execute(statement)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO accepted VALUES (?, ?, ?, ?, ?)",
        (
            (
                WORKSPACE,
                MODEL,
                STREAM,
                f"user{i}@example.com",
                _digest(i),
            )
            for i in range(rows)
        ),
    )
    db.executemany(
        "INSERT INTO identity VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (WORKSPACE, MODEL, STREAM, str(i), f"user{i}@example.com", 1, f"acct{i % 997}")
            for i in range(rows)
        ),
    )
    db.execute("COMMIT")
    db.close()


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(rows: int, root: Path) -> dict[str, Any]:
    v1 = root / "v1.sqlite3"
    build_v1(v1, rows)
    size = v1.stat().st_size
    work = root / "ledger.sqlite3"
    shutil.copy(v1, work)

    def open_both() -> Ledger:
        ledger = Ledger(work, WORKSPACE)
        IdentityMap(ledger)
        return ledger

    opened: list[Ledger] = []
    upgrade_s = timed(lambda: opened.append(open_both()))
    ledger = opened[0]
    migrated = ledger.migrated
    ledger.close()
    reopen_s = timed(lambda: opened.append(open_both()))
    ledger = opened[1]
    identity = IdentityMap(ledger)

    def claim() -> None:
        ledger.claim(MODEL, STREAM, PORTAL)
        identity.claim(MODEL, STREAM, PORTAL)

    claim_s = timed(claim)
    ids = [f"user{i}@example.com" for i in range(rows)]
    found: list[int] = []
    lookup_s = timed(lambda: found.append(len(ledger.lookup(MODEL, STREAM, PORTAL, ids))))
    assert found == [rows], found  # every row kept and claimed
    ledger.close()

    def restore(base: Path) -> None:
        store = FileStore(root / f"store-{base.stem}")
        shutil.copy(base, store.root / "base-0000000001.sqlite3")
        store.put("MANIFEST", json.dumps({"base": "base-0000000001.sqlite3", "after": 1}).encode())
        target = root / f"restored-{base.stem}.sqlite3"
        fresh = Ledger(target, WORKSPACE)
        IdentityMap(fresh)
        fresh.with_connection(DurableLedger(store, WORKSPACE, root / "scratch").restore)
        count = fresh.read("SELECT COUNT(*) FROM accepted", ())
        assert count[0][0] == rows, count
        fresh.close()

    restore_v1_s = timed(lambda: restore(v1))
    restore_current_s = timed(lambda: restore(work))
    return {
        "rows_per_table": rows,
        "rows_migrated": migrated,
        "v1_file_mib": round(size / 2**20, 1),
        "upgrade_seconds": round(upgrade_s, 3),
        "reopen_seconds": round(reopen_s, 4),
        "claim_seconds": round(claim_s, 3),
        "lookup_all_seconds": round(lookup_s, 3),
        "claim_vs_lookup_all": round(claim_s / lookup_s, 2),
        "restore_v1_seconds": round(restore_v1_s, 3),
        "restore_current_seconds": round(restore_current_s, 3),
        "restore_v1_vs_current": round(restore_v1_s / restore_current_s, 2),
        "upgrade_plus_claim_vs_lookup_all": round((upgrade_s + claim_s) / lookup_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows per table")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ledger-migration-") as tmp:
        figures = measure(args.rows, Path(tmp))
    for name, value in figures.items():
        print(f"{name}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
