"""What one drain of a sink does, decided before any request: pure functions, no I/O.

A batch is split (upserts, deletes, archived records ignored), its identity changes are planned
from the identity-map rows it touches, and its requests are planned against the ledger's
digests. The sink (`sinks.py`) looks those rows up, then acts on the plans: it sends, records
outcomes and settles identities.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from target_gather.client import encode
from target_gather.ledger import DELETED_DIGEST, digest
from target_gather.mapping import Mapped
from target_gather.reasons import LeftReason


@dataclass(frozen=True)
class Split:
    """A batch's queued records by what they ask for."""

    upserts: dict[str, Mapped]
    deletes: list[str]  # Gather ids to DELETE now (untracked streams in mirror mode)
    ignored_deletes: int  # archived records that delete nothing (keep mode, or events)


def split_pending(
    pending: Mapping[str, Mapped], *, tracked: bool, mirror: bool, is_event: bool
) -> Split:
    """Upserts; deletes of untracked streams; archived records not deleted (ignored).

    A tracked stream's archived records are settled with the identity map after the upserts,
    so they are neither deleted here nor, in mirror mode, counted as ignored.
    """
    upserts: dict[str, Mapped] = {}
    deletes: list[str] = []
    ignored = 0
    for key, mapped in pending.items():
        if not mapped.delete:
            upserts[key] = mapped
        elif tracked:
            ignored += 0 if mirror else 1
        elif mirror and not is_event:
            deletes.append(key)
        else:
            ignored += 1
    return Split(upserts, deletes, ignored)


@dataclass(frozen=True)
class BatchPlan:
    """The requests of one batch: what to send, what to delete, what is unchanged."""

    bodies: dict[str, bytes]  # every upsert's encoded body, by Gather id
    digests: dict[str, bytes]  # and its digest, remembered in the ledger once accepted
    send: list[str]  # upserts whose body differs from what Gather last accepted
    delete: list[str]  # deletes of records this source wrote, not yet acknowledged
    unchanged: int  # upserts and deletes Gather already has: skipped
    new: int  # of `send`, the ids the ledger has never seen (created, for a dry run)
    unowned: int = 0  # deletes of records this source never wrote: skipped


def plan_requests(
    upserts: Mapping[str, Mapped], deletes: Iterable[str], known: Mapping[str, bytes]
) -> BatchPlan:
    """Diff the batch against `known` (the ledger's digests; for a full resync, only those
    of the deletes): a delete is only sent for a record this source wrote."""
    bodies = {key: encode(m.body) for key, m in upserts.items()}
    digests = {key: digest(body) for key, body in bodies.items()}
    deletes = list(deletes)
    send = [key for key, d in digests.items() if known.get(key) != d]
    delete = [key for key in deletes if known.get(key) not in _NOT_HELD]
    done = sum(1 for key in deletes if known.get(key) == DELETED_DIGEST)
    unchanged = len(digests) - len(send) + done
    new = sum(1 for key in send if key not in known)
    unowned = len(deletes) - len(delete) - done
    return BatchPlan(bodies, digests, send, delete, unchanged, new, unowned)


# Ledger digests of records this source did not write, or whose delete Gather acknowledged (a
# record left behind and reported in keep mode was written by it: mirror mode deletes it).
_NOT_HELD = frozenset({None, DELETED_DIGEST})


@dataclass
class IdentityPlan:
    """Identity changes of one batch: new rows, and Gather ids that may be left behind."""

    final: dict[str, tuple[str | None, int | None]] = field(default_factory=dict)
    candidates: list[tuple[str, str, LeftReason]] = field(default_factory=list)  # gather, sid, why
    known_before: dict[str, str | None] = field(default_factory=dict)
    links: dict[str, str | None] = field(default_factory=dict)
    unchanged: set[str] = field(default_factory=set)


def involved_sources(observed: Iterable[tuple[Mapped, int | None]]) -> set[str]:
    """The source ids whose identity-map rows `plan_identity` needs."""
    involved: set[str] = set()
    for mapped, _ in observed:
        if mapped.source_id is not None:
            involved.add(mapped.source_id)
        involved.update(mapped.merged)
    return involved


def plan_identity(
    observed: Iterable[tuple[Mapped, int | None]],
    rows: Mapping[str, tuple[str | None, str | None]],
) -> IdentityPlan:
    """What the batch changes in the identity map, and the Gather ids it may leave.

    `rows` are the identity map's (gather id, link) of `involved_sources(observed)`.
    """
    old = {sid: gather_id for sid, (gather_id, _) in rows.items()}
    plan = IdentityPlan()
    for mapped, version in observed:
        sid = mapped.source_id
        assert sid is not None  # tracked streams always carry it
        if version is None and sid not in plan.final and _holds_as_before(mapped, rows.get(sid)):
            # The common case of a re-run: the same Gather id and link as the map holds, seen
            # first in this batch, no merge, no pass version. What the general path below
            # decides for it, without its lookups: no candidate, nothing to write.
            plan.final[sid] = (mapped.key, None)
            plan.links[sid] = mapped.link
            plan.unchanged.add(sid)
            plan.known_before[sid] = mapped.key
            continue
        before = plan.final.get(sid, (old.get(sid), None))[0]
        if mapped.no_id:
            now = None
            if before is not None:
                plan.candidates.append((before, sid, LeftReason.ID_CLEARED))
        elif mapped.delete:
            now = None
            plan.candidates.append((mapped.key, sid, LeftReason.ARCHIVED))
            if before is not None and before != mapped.key:
                plan.candidates.append((before, sid, LeftReason.KEY_CHANGED))
        else:
            now = mapped.key
            if before is not None and before != now:
                plan.candidates.append((before, sid, LeftReason.KEY_CHANGED))
        for absorbed in mapped.merged:
            gone = plan.final.get(absorbed, (old.get(absorbed), None))[0]
            if gone is not None and gone != now:
                plan.candidates.append((gone, absorbed, LeftReason.MERGED))
            plan.final[absorbed] = (None, None)
            plan.unchanged.discard(absorbed)
        plan.final[sid] = (now, version)
        plan.links[sid] = mapped.link
        if version is None and sid in rows and rows[sid] == (now, mapped.link):
            plan.unchanged.add(sid)  # nothing to write (keeps the durable journal small)
        else:
            plan.unchanged.discard(sid)
        plan.known_before[sid] = before
    return plan


def _holds_as_before(mapped: Mapped, row: tuple[str | None, str | None] | None) -> bool:
    """Whether a live record maps to the (Gather id, link) its identity row holds and
    absorbs no other record."""
    return (
        row is not None
        and not mapped.no_id
        and not mapped.delete
        and not mapped.merged
        and row[0] == mapped.key
        and row[1] == mapped.link
    )
