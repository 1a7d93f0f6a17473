"""The ledger's and the identity map's `IN (...)` reads span several chunks unchanged."""

from __future__ import annotations

from pathlib import Path

from target_gather.identity import Holder, IdentityMap
from target_gather.ledger import LOOKUP_CHUNK, Ledger, in_chunks


def test_in_chunks_splits_at_the_chunk_size_with_one_mark_per_value() -> None:
    values = [str(i) for i in range(2 * LOOKUP_CHUNK + 1)]
    chunks = list(in_chunks("SELECT x FROM t WHERE y IN", values))
    assert [len(chunk) for _, chunk in chunks] == [LOOKUP_CHUNK, LOOKUP_CHUNK, 1]
    assert [v for _, chunk in chunks for v in chunk] == values
    assert chunks[-1][0] == "SELECT x FROM t WHERE y IN (?)"
    assert chunks[0][0].count("?") == LOOKUP_CHUNK
    assert list(in_chunks("SELECT x FROM t WHERE y IN", [])) == []


def test_lookups_of_more_ids_than_one_chunk_find_every_row(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3", "ws")
    identity = IdentityMap(ledger)
    count = 2 * LOOKUP_CHUNK + 3
    ids = [str(i) for i in range(count)]
    ledger.remember("user", "contacts", "7", [(i, i.encode().ljust(16, b"-")) for i in ids])
    identity.apply("user", "contacts", "7", [(i, f"g{i}", 1, f"a{int(i) % 7}") for i in ids])
    asked = [*ids, "missing"]

    found = ledger.lookup("user", "contacts", "7", asked)
    assert found == {i: i.encode().ljust(16, b"-") for i in ids}
    assert ledger.lookup("user", "contacts", "8", asked) == {}  # another portal's rows
    assert identity.lookup("user", "contacts", "7", asked) == {
        i: (f"g{i}", f"a{int(i) % 7}") for i in ids
    }
    assert identity.holders("user", [f"g{i}" for i in asked]) == {
        f"g{i}": {Holder("contacts", "7", i)} for i in ids
    }
    linked = identity.linked("user", [f"a{k}" for k in range(8)])
    assert sorted(linked, key=str) == sorted(
        ((Holder("contacts", "7", i), f"g{i}") for i in ids), key=str
    )
    ledger.close()


def test_lookups_in_a_ledger_never_created_find_nothing(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "absent.sqlite3", "ws", read_only=True)
    ids = [str(i) for i in range(LOOKUP_CHUNK + 1)]
    assert ledger.lookup("user", "contacts", "", ids) == {}
    assert ledger.read_in("SELECT id FROM accepted WHERE id IN", (), ids) == []


def test_lookups_read_a_dense_stretch_at_once_and_seek_a_sparse_one(tmp_path: Path) -> None:
    """Whichever way a lookup reads (the ids' stretch of the key, or `IN` seeks when the
    stretch holds many rows not asked for), it finds exactly the rows asked for."""
    ledger = Ledger(tmp_path / "ledger.sqlite3", "ws")
    identity = IdentityMap(ledger)
    ids = [f"{i:05d}" for i in range(1000)]
    ledger.remember("user", "contacts", "7", [(i, i.encode().ljust(16, b"-")) for i in ids])
    identity.apply("user", "contacts", "7", [(i, f"g{i}", None, None) for i in ids])
    dense = [*ids[100:300:2], "00150x"]  # every other row of a stretch, one id unknown
    sparse = [ids[0], ids[500], ids[999], "zzz"]  # three rows out of the whole table
    for asked in (dense, sparse, ids, [ids[42]]):
        known = [i for i in asked if i in set(ids)]
        assert ledger.lookup("user", "contacts", "7", asked) == {
            i: i.encode().ljust(16, b"-") for i in known
        }
        assert identity.lookup("user", "contacts", "7", asked) == {
            i: (f"g{i}", None) for i in known
        }
    ledger.close()


def test_lookups_find_ids_beyond_ascii_in_the_order_sqlite_keeps_them(tmp_path: Path) -> None:
    """SQLite orders text by UTF-8 bytes, Python by code points: the same order, so a stretch
    read between the sorted ids' ends misses none of them."""
    ledger = Ledger(tmp_path / "ledger.sqlite3", "ws")
    ids = ["Zoë@x.io", "zoe@x.io", "ß", "é", "\U0001f600", "~", "\u00ff", "\uffff", "A", "a"]
    ledger.remember("user", "contacts", "", [(i, b"d" * 16) for i in ids])
    for asked in (ids, ids[2:6], ["\U0001f600", "A"]):
        assert ledger.lookup("user", "contacts", "", asked) == dict.fromkeys(asked, b"d" * 16)
    ledger.close()
