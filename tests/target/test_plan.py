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
