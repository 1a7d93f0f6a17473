"""The drain's plan on its own: what a batch sends, deletes, skips or ignores, with no HTTP.

The steps that act on a plan (sending, outcomes, settling identities) run against the Gather
emulator in test_delivery.py, test_identity.py and test_state_and_modes.py.
"""

from __future__ import annotations

from target_gather.client import encode
from target_gather.ledger import DELETED_DIGEST, LEFT_BEHIND_DIGEST, digest
from target_gather.mapping import Mapped
from target_gather.plan import involved_sources, plan_identity, plan_requests, split_pending


def _upsert(key: str, name: str = "Acme", source: str | None = None) -> Mapped:
    return Mapped(key=key, body={"id": key, "name": name}, source_id=source)


def _archived(key: str, source: str | None = None) -> Mapped:
    return Mapped(key=key, body={"id": key}, delete=True, source_id=source)


def test_split_keeps_upserts_and_deletes_archived_records_only_in_mirror_mode() -> None:
    pending = {"a": _upsert("a"), "b": _archived("b")}
    keep = split_pending(pending, tracked=False, mirror=False, is_event=False)
    mirror = split_pending(pending, tracked=False, mirror=True, is_event=False)
    assert (list(keep.upserts), keep.deletes, keep.ignored_deletes) == (["a"], [], 1)
    assert (list(mirror.upserts), mirror.deletes, mirror.ignored_deletes) == (["a"], ["b"], 0)


def test_split_never_deletes_events_and_leaves_tracked_archives_to_the_identity_map() -> None:
    pending = {"b": _archived("b")}
    events = split_pending(pending, tracked=False, mirror=True, is_event=True)
    tracked_mirror = split_pending(pending, tracked=True, mirror=True, is_event=False)
    tracked_keep = split_pending(pending, tracked=True, mirror=False, is_event=False)
    assert (events.deletes, events.ignored_deletes) == ([], 1)
    assert (tracked_mirror.deletes, tracked_mirror.ignored_deletes) == ([], 0)
    assert (tracked_keep.deletes, tracked_keep.ignored_deletes) == ([], 1)


def test_requests_skip_what_gather_already_has_and_count_new_ids() -> None:
    same, changed, fresh = _upsert("same"), _upsert("changed", "New name"), _upsert("fresh")
    known = {
        "same": digest(encode(same.body)),
        "changed": digest(encode(_upsert("changed", "Old name").body)),
        "gone": DELETED_DIGEST,
        "live": digest(b"what Gather holds"),
        "reported": LEFT_BEHIND_DIGEST,
    }
    plan = plan_requests(
        {"same": same, "changed": changed, "fresh": fresh},
        ["gone", "live", "stranger", "reported"],
        known,
    )
    assert plan.send == ["changed", "fresh"]
    assert plan.delete == ["live", "reported"]  # only what this source wrote (and reported)
    assert plan.unchanged == 2  # `same` upsert and the already deleted `gone`
    assert plan.unowned == 1  # never written by this source
    assert plan.new == 1
    assert plan.bodies["fresh"] == encode(fresh.body)
    assert plan.digests["fresh"] == digest(encode(fresh.body))


def test_a_full_resync_plan_sends_everything() -> None:
    plan = plan_requests({"a": _upsert("a"), "b": _upsert("b")}, ["c"], {"c": digest(b"c")})
    assert (plan.send, plan.delete, plan.unchanged, plan.new) == (["a", "b"], ["c"], 0, 2)


def test_identity_plan_names_what_a_key_change_a_merge_and_an_archive_leave_behind() -> None:
    observed: list[tuple[Mapped, int | None]] = [
        (_upsert("new@x.io", source="1"), None),  # was old@x.io
        (Mapped(key="k2", body={"id": "k2"}, source_id="2", merged=("3",)), None),
        (_archived("a4", source="4"), None),
    ]
    assert involved_sources(observed) == {"1", "2", "3", "4"}
    rows = {"1": ("old@x.io", None), "2": ("k2", None), "3": ("k3", None), "4": ("a4", None)}
    plan = plan_identity(observed, rows)
    assert plan.candidates == [
        ("old@x.io", "1", "key_changed"),
        ("k3", "3", "merged"),
        ("a4", "4", "archived"),
    ]
    assert plan.final == {"1": ("new@x.io", None), "2": ("k2", None), "3": (None, None)} | {
        "4": (None, None)
    }
    assert plan.known_before == {"1": "old@x.io", "2": "k2", "4": "a4"}
    assert plan.unchanged == {"2"}  # same Gather id and link: no row to write


def test_identity_plan_reports_a_cleared_id_and_writes_versioned_rows() -> None:
    observed: list[tuple[Mapped, int | None]] = [
        (Mapped(key="", body={}, source_id="9", no_id=True), 7),
        (_upsert("k1", source="1"), 7),
    ]
    plan = plan_identity(observed, {"9": ("k9", None), "1": ("k1", None)})
    assert plan.candidates == [("k9", "9", "id_cleared")]
    assert plan.final == {"9": (None, 7), "1": ("k1", 7)}
    assert plan.unchanged == set()  # a versioned pass always writes its rows


def _linked(key: str, source: str, link: str | None) -> Mapped:
    return Mapped(key=key, body={"id": key, "account_id": link}, source_id=source, link=link)


def test_identity_plan_skips_only_records_that_hold_their_row_as_before() -> None:
    """A re-run's records with the same Gather id and link write nothing; a changed link, a
    pass version or a second record of the same source id in the batch still do."""
    observed: list[tuple[Mapped, int | None]] = [
        (_linked("u1", "1", "a1"), None),  # as before: nothing to write
        (_linked("u2", "2", "a9"), None),  # same Gather id, its account moved
        (_linked("u3", "3", "a3"), 5),  # as before, but a complete pass stamps its version
        (_linked("u4", "4", "a4"), None),  # as before, then its ID changes later in the batch
        (_linked("u4b", "4", "a4"), None),
    ]
    rows = {sid: (f"u{sid}", f"a{sid}") for sid in ("1", "2", "3", "4")}
    plan = plan_identity(observed, rows)
    assert plan.unchanged == {"1"}
    assert plan.final == {
        "1": ("u1", None),
        "2": ("u2", None),
        "3": ("u3", 5),
        "4": ("u4b", None),
    }
    assert plan.links == {"1": "a1", "2": "a9", "3": "a3", "4": "a4"}
    assert plan.candidates == [("u4", "4", "key_changed")]
    assert plan.known_before == {"1": "u1", "2": "u2", "3": "u3", "4": "u4"}


def test_identity_plan_an_unchanged_record_a_later_merge_absorbs_is_written_as_gone() -> None:
    observed: list[tuple[Mapped, int | None]] = [
        (_linked("u5", "5", None), None),  # as before...
        (Mapped(key="u6", body={"id": "u6"}, source_id="6", merged=("5",)), None),  # ...then merged
    ]
    plan = plan_identity(observed, {"5": ("u5", None), "6": ("u6", None)})
    assert plan.candidates == [("u5", "5", "merged")]
    assert plan.final == {"5": (None, None), "6": ("u6", None)}
    assert plan.unchanged == {"6"}  # 5 must be written: its row is dropped


def test_identity_plan_a_record_without_a_row_or_with_another_key_is_never_unchanged() -> None:
    observed: list[tuple[Mapped, int | None]] = [
        (_linked("u7", "7", None), None),  # no row yet: the map learns it
        (_linked("u8-new", "8", None), None),  # key changed
        (_archived("u9", source="9"), None),  # archived with the same Gather id
    ]
    plan = plan_identity(observed, {"8": ("u8", None), "9": ("u9", None)})
    assert plan.unchanged == set()
    assert plan.candidates == [("u8", "8", "key_changed"), ("u9", "9", "archived")]
    assert plan.final == {"7": ("u7", None), "8": ("u8-new", None), "9": (None, None)}


def test_identity_plan_a_key_that_changes_back_within_a_batch_leaves_the_interim_id() -> None:
    observed: list[tuple[Mapped, int | None]] = [
        (_linked("u10-tmp", "10", None), None),
        (_linked("u10", "10", None), None),  # back to what the row holds
    ]
    plan = plan_identity(observed, {"10": ("u10", None)})
    assert plan.candidates == [("u10", "10", "key_changed"), ("u10-tmp", "10", "key_changed")]
    assert plan.final == {"10": ("u10", None)}
    assert plan.known_before == {"10": "u10-tmp"}
    # The row ends as it was (nothing to write), but the interim Gather id is a candidate.
    assert plan.unchanged == {"10"}
