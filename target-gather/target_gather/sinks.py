"""The sink: map -> validate -> dedupe -> plan (`plan.py`) -> send -> record outcomes.

Records are mapped as they arrive (invalid ones are set aside with their reason), deduplicated by
Gather id (the last record per id wins), and sent when the target drains. A drain returns only
when every record of the batch is acknowledged by Gather or durably in the rejects file; if
retries run out it raises, so the target never emits a STATE past unsent records.

Each sink writes for one source: its stream and origin (the portal its records name in the
mapping's `portal_field`; '' for a source without one). Ledger and identity rows are that
source's own, so two portals writing into one workspace never see each other's records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from singer_sdk.sinks import BatchSink

from hubspot_gather_common.ids import normalize_id
from target_gather.client import (
    GatherClient,
    GatherError,
    Outcome,
    Request,
    encode,
    record_path,
)
from target_gather.compat import override
from target_gather.guard import DeleteCap, SourceKey, Withheld
from target_gather.identity import Holder, IdentityMap
from target_gather.ledger import DELETED_DIGEST, LEFT_BEHIND_DIGEST, Ledger
from target_gather.mapping import (
    BoundMapping,
    InvalidRecordError,
    Mapped,
    MappingSpec,
    NullPolicy,
    bind,
    spec_for,
)
from target_gather.plan import (
    BatchPlan,
    IdentityPlan,
    involved_sources,
    plan_identity,
    plan_requests,
    split_pending,
)
from target_gather.reasons import RETIRING, LeftAction, LeftReason
from target_gather.report import LeftBehindWriter, RejectsWriter, RunSummary

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from singer_sdk.sinks.core import BaseJSONSchemaValidator
    from singer_sdk.target_base import Target

EVENTS_PATH = "/events"
ACCOUNT_MODEL = "account"
USER_MODEL = "user"


class GatherDeliveryError(GatherError):
    """Some records could not be delivered after every retry."""


class DeleteCapError(GatherError):
    """Mirror mode would delete more of a source's records than `delete_cap_percent`."""


@dataclass
class Services:
    """What every sink shares, owned by the target (one client, ledger, rejects file)."""

    specs: dict[str, MappingSpec]
    client: Callable[[], GatherClient]
    ledger: Ledger
    rejects: RejectsWriter
    summary: RunSummary
    null_policy: NullPolicy
    payload_format: str
    dry_run: bool
    full_resync: bool
    delete_records: bool  # sync_mode mirror
    identity: IdentityMap
    left_behind: LeftBehindWriter
    delete_cap: DeleteCap = field(default_factory=lambda: DeleteCap(100.0, ""))
    protocol_errors: Counter[str] = field(default_factory=Counter)
    sinks: dict[str, GatherSink] = field(default_factory=dict)  # the current sink per stream


@runtime_checkable
class ServicesOwner(Protocol):
    """A target holding the shared services (TargetGather)."""

    services: Services


def services_of(target: Target) -> Services:
    """The target's shared services, typed (as SQL sinks reach their connector)."""
    if not isinstance(target, ServicesOwner) or not isinstance(target.services, Services):
        msg = f"GatherSink needs a target holding Services (TargetGather), got {type(target)}"
        raise TypeError(msg)
    return target.services


class GatherSink(BatchSink):
    """Turns one stream's records into Gather upserts, deletes or events."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        services = services_of(target)
        self._services = services
        # Bind before the SDK strips `_sdc_*` properties from the (shared) schema dict.
        self.mapping: BoundMapping = bind(
            spec_for(services.specs, stream_name),
            schema,
            key_properties,
            null_policy=services.null_policy,
            payload_format="traits" if services.payload_format == "traits" else "flat",
        )
        super().__init__(target, stream_name, schema, key_properties)
        self._pending: dict[str, Mapped] = {}
        # Identity-tracked streams: every mapped record in arrival order, with its version.
        self._observed: list[tuple[Mapped, int | None]] = []
        self._tracked = self.mapping.tracked
        self._invalid: list[tuple[str | None, str, dict[str, Any]]] = []
        self._duplicates = 0
        self._ignored = 0
        self._ignore = self.mapping.spec.kind == "ignore"
        self._retires = self.mapping.spec.retires
        kind = self.mapping.spec.kind
        self._post_path = EVENTS_PATH if kind == "event" else record_path(self.mapping.model)
        # The source portal: known from the first record when the mapping names a portal field.
        self._origin: str | None = None if self.mapping.portal_field else ""
        self._claimed = False
        services.sinks[stream_name] = self
        if kind in ("account", "user", "custom"):
            services.summary.identity(stream_name, tracked=self._tracked)

    @property
    def services(self) -> Services:
        """What every sink shares (the target's client, ledger, identity map, reports)."""
        return self._services

    @property
    def origin(self) -> str:
        """The source portal this sink writes for ('' until a record names it, or none)."""
        return self._origin or ""

    @property
    def source(self) -> SourceKey:
        """This sink's source: model, stream and origin."""
        return SourceKey(self.mapping.model, self.stream_name, self.origin)

    def _count(self, **counts: int) -> None:
        """Add to the run summary under this source."""
        self.services.summary.add(
            self.mapping.model, stream=self.stream_name, portal=self.origin, **counts
        )

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """No per-record JSON Schema validation: `map_record` checks what Gather needs."""
        return None

    # -- intake (hot path) -----------------------------------------------------------------

    def accept(self, record: dict[str, Any], version: int | None = None) -> None:
        """Map one record and queue it; the last record per Gather id wins (except that an
        archived record never displaces another, live record's upsert of the same id).

        The caller tallies the record (`tally_record_read`), as the SDK's own path does."""
        if self._ignore or self._retires is not None:
            self._set_aside(record, version)
            return
        if not self._has_keys(record):
            return
        try:
            mapped = self.mapping.map_record(record)
        except InvalidRecordError as exc:
            record_id = normalize_id(record.get(self.mapping.id_field))
            self._invalid.append((record_id, str(exc), record))
            return
        if mapped.origin != self._origin and not self._adopt_origin(mapped.origin, record):
            return
        if self._tracked:
            self._observed.append((mapped, version if isinstance(version, int) else None))
            if mapped.no_id:
                return
        existing = self._pending.get(mapped.key)
        if existing is not None:
            self._duplicates += 1
            if mapped.delete and not existing.delete and existing.source_id != mapped.source_id:
                return  # a live record holds this id: the archived one's delete must not win
            del self._pending[mapped.key]  # keep arrival order of the winning record
        self._pending[mapped.key] = mapped

    def _set_aside(self, record: dict[str, Any], version: int | None) -> None:
        """A record of an ignored stream (counted) or of a `retire` stream (forwarded)."""
        if self._ignore:
            self._ignored += 1
        else:
            self._forward_retire(record, version)

    def _has_keys(self, record: dict[str, Any]) -> bool:
        """Whether the record carries its stream's key properties (else it is invalid)."""
        for key in self.key_properties:
            if key not in record:
                reason = f"key property {key!r} is absent: the tap broke the Singer spec"
                self._invalid.append((None, reason, record))
                self.services.protocol_errors[self.stream_name] += 1
                return False
        return True

    def _adopt_origin(self, origin: str, record: dict[str, Any]) -> bool:
        """The first record names the sink's portal; a record of another portal is invalid
        (one run of a stream reads one portal)."""
        if self._origin is None:
            self._origin = origin
            return True
        reason = (
            f"stream {self.stream_name!r} carries records of portal {origin or '(none)'} after "
            f"records of portal {self._origin or '(none)'}: one run of a stream must read one "
            f"portal. Fix: run each portal separately (its own tap config and state)."
        )
        self._invalid.append((normalize_id(record.get(self.mapping.id_field)), reason, record))
        self.services.protocol_errors[self.stream_name] += 1
        return False

    def _forward_retire(self, record: dict[str, Any], version: int | None) -> None:
        """A `retire` stream's record: the retired stream's sink settles what it held."""
        target = self.services.sinks.get(str(self._retires))
        try:
            mapped = self.mapping.map_retire(record)
        except InvalidRecordError as exc:
            self._invalid.append((None, str(exc), record))
            return
        if target is None or not target.accepts_retire:
            reason = (
                f"stream {self.stream_name!r} retires records of stream {self._retires!r}, "
                "which has no SCHEMA yet or does not track identity. Fix: map "
                f"{self._retires!r} with source_id_field, or set mappings.{self.stream_name} "
                "to false."
            )
            self._invalid.append((mapped.source_id, reason, record))
            return
        target.observe_retire(mapped, record, version)

    @property
    def accepts_retire(self) -> bool:
        """Whether records of a `retire` stream can settle this stream's identities."""
        return self._tracked

    def observe_retire(self, mapped: Mapped, record: dict[str, Any], version: int | None) -> None:
        """A record of this stream whose ID is now empty (from its `retire` stream)."""
        if mapped.origin != self._origin and not self._adopt_origin(mapped.origin, record):
            return
        self.tally_record_read()  # so that this sink drains although its stream sent nothing
        self._observed.append((mapped, version))

    @override
    def activate_version(self, new_version: int) -> None:
        """A complete pass of `new_version` ended: what it did not include is left behind.

        A pass that brought no record cannot tell which portal it read: nothing is left
        behind (an empty or wrong portal must not look like one whose records all vanished).
        """
        if not self._tracked:
            return
        if self._origin is None:
            self.logger.warning(
                "complete pass of stream %r brought no record: nothing is treated as gone "
                "(an empty portal or selection is never taken for deletes)",
                self.stream_name,
            )
            return
        self._claim()
        s = self.services
        model = self.mapping.model
        stale = s.identity.stale(model, self.stream_name, self.origin, new_version)
        if not stale:
            return
        plan = IdentityPlan()
        for source_id, gather_id in stale:
            plan.final[source_id] = (None, None)
            plan.candidates.append((gather_id, source_id, LeftReason.NOT_IN_SOURCE))
        self._settle(plan)

    def _claim(self) -> None:
        """Once per sink: rows written before sources had a portal become this portal's
        (the ledger's upgrade, `migrate.py`)."""
        if self._claimed or not self.origin or self.services.dry_run:
            return
        self._claimed = True
        s = self.services
        s.ledger.claim(self.mapping.model, self.stream_name, self.origin)
        if self._tracked:
            s.identity.claim(self.mapping.model, self.stream_name, self.origin)

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """The SDK's own record path (which tallies the record itself) ends here too."""
        self.accept(record)

    # -- drain -----------------------------------------------------------------------------

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        """Send the batch; return once every record has a durable outcome."""
        pending, self._pending = self._pending, {}
        observed, self._observed = self._observed, []
        invalid, self._invalid = self._invalid, []
        duplicates, self._duplicates = self._duplicates, 0
        ignored_stream, self._ignored = self._ignored, 0
        s = self.services
        model = self.mapping.model
        self.record_counter_metric.increment(
            len(pending) + len(invalid) + duplicates + ignored_stream
        )
        if ignored_stream:
            self._count(ignored=ignored_stream)
        self._write_invalid(invalid)
        if self._retires is not None:  # its records were settled by the retired stream
            if invalid:
                self._count(invalid=len(invalid))
                s.rejects.sync()
            return
        self._count(invalid=len(invalid), duplicates=duplicates)
        self._claim()
        split = split_pending(
            pending,
            tracked=self._tracked,
            mirror=s.delete_records,
            is_event=self.mapping.spec.kind == "event",
        )
        no_id = sum(1 for m, _ in observed if m.no_id)
        if no_id:
            self._count(no_id=no_id)
        identity = self._plan(observed) if observed else None
        upserts = split.upserts
        if identity is not None:
            upserts = self._with_takeovers(upserts, identity)
        known: dict[str, bytes] = {}
        if not s.full_resync:
            ids = [*upserts, *split.deletes]
            known = s.ledger.lookup(model, self.stream_name, self.origin, ids)
        elif split.deletes:  # only deletes of what this source wrote: it needs their rows
            known = s.ledger.lookup(model, self.stream_name, self.origin, split.deletes)
        plan = plan_requests(upserts, split.deletes, known)
        if s.dry_run:
            if identity is not None:
                self._settle(identity)
            self._count(
                created=plan.new,
                updated=len(plan.send) - plan.new,
                unchanged=plan.unchanged,
                deleted=len(plan.delete),
                ignored_deletes=split.ignored_deletes,
            )
            s.rejects.sync()
            return
        self._count(unchanged=plan.unchanged, ignored_deletes=split.ignored_deletes + plan.unowned)
        self._guard_deletes(plan.delete, dict.fromkeys(plan.delete, ("", LeftReason.ARCHIVED)))
        self._send(plan, upserts)
        if identity is not None:
            self._settle(identity)

    def _send(self, plan: BatchPlan, upserts: dict[str, Mapped]) -> None:
        """Act on the plan: POST the changed upserts, DELETE the deletes, record outcomes."""
        s = self.services
        model = self.mapping.model
        s.ledger.forget(model, self.stream_name, self.origin, [*plan.send, *plan.delete])
        requests = [Request("POST", self._post_path, plan.bodies[key]) for key in plan.send]
        requests += [Request("DELETE", record_path(model, key), None) for key in plan.delete]
        keys = [*plan.send, *plan.delete]
        outcomes = s.client().send_all(requests) if requests else []
        self._record_outcomes(
            model=model,
            keys=keys,
            requests=requests,
            outcomes=outcomes,
            upserts=upserts,
            digests=plan.digests,
        )

    # -- identity: key changes, cleared ids, merges, archives, vanished records -------------

    def _plan(self, observed: list[tuple[Mapped, int | None]]) -> IdentityPlan:
        """What this batch changes in the identity map, and the Gather ids it may leave."""
        s = self.services
        rows = s.identity.lookup(
            self.mapping.model, self.stream_name, self.origin, involved_sources(observed)
        )
        return plan_identity(observed, rows)

    def _write_invalid(self, invalid: list[tuple[str | None, str, dict[str, Any]]]) -> None:
        for record_id, reason, record in invalid:
            self.services.rejects.write(
                stream=self.stream_name,
                portal=self.origin,
                model=self.mapping.model,
                record_id=record_id,
                outcome="invalid",
                reason=reason,
                http_status=None,
                payload=record,
            )

    def _write_rejected(
        self,
        source: SourceKey,
        record_id: str,
        outcome: Outcome,
        *,
        context: str = "",
        payload: Any = None,
    ) -> None:
        """A request Gather refused for good: one rejects line with its status and reason."""
        self.services.rejects.write(
            stream=source.stream,
            portal=source.origin,
            model=source.model,
            record_id=record_id,
            outcome="rejected",
            reason=context + outcome.reason,
            http_status=outcome.status,
            payload=payload,
        )

    def _with_takeovers(self, upserts: dict[str, Mapped], plan: IdentityPlan) -> dict[str, Mapped]:
        """Upserts of a Gather id that another source record held (an ID moved to another
        contact, a reused email) or that was left behind: their null traits are sent as null,
        so nothing of the previous holder lingers whatever `null_policy` says."""
        fresh = {
            key: m
            for key, m in upserts.items()
            if m.nulls and m.source_id is not None and plan.known_before.get(m.source_id) != key
        }
        if not fresh:
            return upserts
        s = self.services
        model = self.mapping.model
        stream = self.stream_name
        holders = s.identity.holders(model, fresh)
        rows = s.ledger.lookup(model, stream, self.origin, list(fresh))
        result = dict(upserts)
        for key, mapped in fresh.items():
            others = holders.get(key, set()) - {Holder(stream, self.origin, str(mapped.source_id))}
            if others or rows.get(key) == LEFT_BEHIND_DIGEST:
                result[key] = self.mapping.with_nulls(mapped)
        return result

    def _settle(self, plan: IdentityPlan) -> None:
        """Delete (mirror) or report (keep) the Gather records no live record holds any more,
        then write the identity map (only after Gather acknowledged the deletes)."""
        s = self.services
        model = self.mapping.model
        stream = self.stream_name
        chosen = self._unheld(plan)
        known = s.ledger.lookup(model, stream, self.origin, sorted(chosen)) if chosen else {}
        if s.delete_records:
            done = [g for g in chosen if known.get(g) == DELETED_DIGEST]
            owned = {g: why for g, why in chosen.items() if self._wrote(g, why[0], plan, known)}
            todo = [g for g in owned if g not in done]
            self._count(unchanged=len(done), ignored_deletes=len(chosen) - len(done) - len(todo))
            if s.dry_run:
                self._count(deleted=len(todo))
            elif todo:
                self._guard_deletes(todo, owned)
                self._delete(model, todo, owned)
        else:
            self._report(plan, chosen, known)
        retired = [g for g, (_, why) in chosen.items() if why in RETIRING]
        if retired and model == ACCOUNT_MODEL and not s.dry_run:
            self._unlink_users(retired)
        if not s.dry_run:
            s.identity.apply(
                model,
                stream,
                self.origin,
                [
                    (sid, now, v, plan.links.get(sid))
                    for sid, (now, v) in plan.final.items()
                    if sid not in plan.unchanged
                ],
            )

    def _wrote(
        self, gather_id: str, source_id: str, plan: IdentityPlan, known: dict[str, bytes]
    ) -> bool:
        """Whether this source wrote `gather_id` (its identity row or its ledger row)."""
        if plan.known_before.get(source_id) == gather_id:
            return True
        if source_id in plan.final and source_id not in plan.known_before:
            return True  # a row of the identity map itself (a complete pass's stale row)
        return known.get(gather_id) not in (None, DELETED_DIGEST)  # left behind: it wrote it

    def _unheld(self, plan: IdentityPlan) -> dict[str, tuple[str, LeftReason]]:
        """The candidate Gather ids no live source record holds (after this batch), each
        with the (source id, reason) that left it; held ones are counted `kept_live`.

        Held means: a source record of any stream or portal maps to it in the identity map,
        or another source (stream, portal) last wrote it and Gather holds that write."""
        if not plan.candidates:
            return {}
        s = self.services
        model = self.mapping.model
        stream = self.stream_name
        origin = self.origin
        ids = {g for g, _, _ in plan.candidates}
        holders = s.identity.holders(model, ids)
        # This batch's rows replace what the map held for its source ids. Each source id is
        # final once, so dropping all of them first and then adding each one's new row is the
        # same as dropping and adding in turn (a source id only removes its own pair).
        gone = {Holder(stream, origin, sid) for sid in plan.final}
        for held in holders.values():
            held.difference_update(gone)
        for sid, (now, _) in plan.final.items():
            if now is not None and now in ids:
                holders.setdefault(now, set()).add(Holder(stream, origin, sid))
        writers = s.ledger.writers(model, ids)
        kept_live = 0
        chosen: dict[str, tuple[str, LeftReason]] = {}
        for gather_id, sid, reason in plan.candidates:
            others = writers.get(gather_id, set()) - {(stream, origin)}
            if holders.get(gather_id) or others:
                kept_live += 1
            elif gather_id not in chosen:
                chosen[gather_id] = (sid, LeftReason(reason))
        if kept_live:
            self._count(kept_live=kept_live)
        return chosen

    def _guard_deletes(self, todo: list[str], why: dict[str, tuple[str, LeftReason]]) -> None:
        """Mirror: above `delete_cap_percent` of this source's records, delete nothing more,
        list what would have been deleted (action `withheld`) and stop the run."""
        if not todo or not self.services.delete_records:
            return
        s = self.services
        source = self.source
        withheld = s.delete_cap.check(
            source, todo, lambda: s.ledger.count_held(source.model, source.stream, source.origin)
        )
        if withheld is None:
            return
        for gather_id in todo:
            sid, reason = why[gather_id]
            self._write_left_behind(gather_id, sid, reason, LeftAction.WITHHELD)
        s.left_behind.sync()
        self._count(withheld=len(todo))
        s.summary.sample(
            source.model,
            [(g, *why[g]) for g in todo],
            action=LeftAction.WITHHELD,
            stream=source.stream,
            portal=source.origin,
        )
        raise DeleteCapError(_cap_message(withheld, s.delete_cap.percent))

    def _unlink_users(self, accounts: list[str]) -> None:
        """Clear `account_id` of the users last sent linked to accounts that are gone.

        Their contacts may be untouched in HubSpot (an archived company's contacts lose their
        primary company without a modified date), so no contact record would bring the change.
        A contact re-emitted later in the run is sent again (its ledger row is dropped).
        """
        s = self.services
        users = s.identity.linked(USER_MODEL, accounts)
        if not users:
            return
        bodies = [
            {"id": g, "traits": {"account_id": None}}
            if s.payload_format == "traits"
            else {"id": g, "account_id": None}
            for _, g in users
        ]
        for holder, gather_id in users:
            s.ledger.forget(USER_MODEL, holder.stream, holder.origin, [gather_id])
        requests = [Request("POST", record_path(USER_MODEL), encode(b)) for b in bodies]
        outcomes = s.client().send_all(requests)
        failed = [o for o in outcomes if o.verdict not in ("accepted", "rejected")]
        for (holder, gather_id), outcome in zip(users, outcomes, strict=True):
            source = SourceKey(USER_MODEL, holder.stream, holder.origin)
            if outcome.verdict == "rejected":
                self._write_rejected(source, gather_id, outcome, context="clearing account_id: ")
            elif outcome.verdict == "accepted":
                s.summary.add(USER_MODEL, stream=holder.stream, portal=holder.origin, unlinked=1)
        s.rejects.sync()
        if failed:
            msg = (
                f"{len(failed)} user(s) linked to a deleted account could not be unlinked "
                f"(last error: {failed[-1].reason or 'unknown'}). No STATE was emitted past "
                "them. Fix: re-run when Gather is reachable."
            )
            raise GatherDeliveryError(msg)
        s.identity.unlink(USER_MODEL, [holder for holder, _ in users])

    def _report(
        self,
        plan: IdentityPlan,
        chosen: dict[str, tuple[str, LeftReason]],
        known: dict[str, bytes],
    ) -> None:
        """Keep: list each Gather record left behind (once), never delete it."""
        s = self.services
        model = self.mapping.model
        reported = []
        for gather_id, (sid, reason) in chosen.items():
            wrote_it = plan.known_before.get(sid) is not None or known.get(gather_id) not in (
                None,
                DELETED_DIGEST,
                LEFT_BEHIND_DIGEST,
            )
            if reason == LeftReason.ARCHIVED and not wrote_it:
                continue  # never written by us, or already reported
            reported.append(gather_id)
            if s.dry_run:
                continue  # counted only: the real run reports it
            self._write_left_behind(gather_id, sid, reason, LeftAction.REPORTED)
        self._count(left_behind=len(reported))
        if reason_samples := [(g, *chosen[g]) for g in reported]:
            s.summary.sample(
                model,
                reason_samples,
                action=LeftAction.REPORTED,
                stream=self.stream_name,
                portal=self.origin,
            )
        if not s.dry_run:
            s.left_behind.sync()
            entries = [(g, LEFT_BEHIND_DIGEST) for g in reported]
            s.ledger.remember(model, self.stream_name, self.origin, entries)

    def _write_left_behind(
        self, gather_id: str, source_id: str, reason: LeftReason, action: LeftAction
    ) -> None:
        """One left_behind line naming its source (stream and portal)."""
        self.services.left_behind.write(
            portal=self.origin,
            stream=self.stream_name,
            model=self.mapping.model,
            gather_id=gather_id,
            source_id=source_id,
            reason=str(reason),
            mode="mirror" if self.services.delete_records else "keep",
            action=str(action),
        )

    def _delete(
        self, model: str, todo: list[str], chosen: dict[str, tuple[str, LeftReason]]
    ) -> None:
        """Mirror: DELETE each Gather id; raises (before the identity map moves) on failure."""
        s = self.services
        stream = self.stream_name
        s.ledger.forget(model, stream, self.origin, todo)
        requests = [Request("DELETE", record_path(model, g), None) for g in todo]
        outcomes = s.client().send_all(requests)
        gone = [g for g, o in zip(todo, outcomes, strict=True) if o.verdict == "accepted"]
        s.delete_cap.spent(self.source, len(gone))
        for gather_id in gone:
            self._write_left_behind(gather_id, *chosen[gather_id], LeftAction.DELETED)
        s.left_behind.sync()
        if gone:
            s.ledger.forget_everywhere(model, gone)
            s.ledger.remember(model, stream, self.origin, [(g, DELETED_DIGEST) for g in gone])
            s.summary.sample(
                model,
                [(g, *chosen[g]) for g in gone],
                action=LeftAction.DELETED,
                stream=stream,
                portal=self.origin,
            )
        retried = sum(o.retries for o in outcomes)
        rejected = [o for o in outcomes if o.verdict == "rejected"]
        for gather_id, outcome in zip(todo, outcomes, strict=True):
            if outcome.verdict == "rejected":
                self._write_rejected(self.source, gather_id, outcome)
        self._count(deleted=len(gone), rejected=len(rejected), retried=retried)
        s.rejects.sync()
        failed = [o for o in outcomes if o.verdict not in ("accepted", "rejected")]
        if failed:
            msg = (
                f"{len(failed)} DELETE(s) of stream {stream!r} (Gather model {model!r}) were "
                f"not delivered after {failed[-1].retries} retries (last error: "
                f"{failed[-1].reason or 'unknown'}). No STATE was emitted past them. Fix: re-run "
                "when Gather is reachable."
            )
            raise GatherDeliveryError(msg)

    def _record_outcomes(
        self,
        *,
        model: str,
        keys: list[str],
        requests: list[Request],
        outcomes: list[Outcome],
        upserts: dict[str, Mapped],
        digests: dict[str, bytes],
    ) -> None:
        s = self.services
        accepted: list[tuple[str, bytes]] = []
        gone: list[str] = []
        failed: list[Outcome] = []
        counts = dict.fromkeys(("created", "updated", "deleted", "rejected", "retried"), 0)
        for key, request, outcome in zip(keys, requests, outcomes, strict=True):
            counts["retried"] += outcome.retries
            if outcome.verdict == "accepted":
                if request.method == "DELETE":
                    counts["deleted"] += 1
                    gone.append(key)
                else:
                    is_event = self.mapping.spec.kind == "event"
                    counts["created" if outcome.created or is_event else "updated"] += 1
                    accepted.append((key, digests[key]))
            elif outcome.verdict == "rejected":
                counts["rejected"] += 1
                payload = upserts[key].body if key in upserts else None
                self._write_rejected(self.source, key, outcome, payload=payload)
            else:
                failed.append(outcome)
        s.ledger.remember(model, self.stream_name, self.origin, accepted)
        if gone:
            s.delete_cap.spent(self.source, len(gone))
            s.ledger.forget_everywhere(model, gone)
            deleted = [(key, DELETED_DIGEST) for key in gone]
            s.ledger.remember(model, self.stream_name, self.origin, deleted)
        self._count(**counts)
        s.rejects.sync()
        if failed:
            last = failed[-1]
            msg = (
                f"{len(failed)} record(s) of stream {self.stream_name!r} (Gather model "
                f"{model!r}) were not delivered after {last.retries} retries (last error: "
                f"{last.reason or 'unknown'}). No STATE was emitted past them. Fix: re-run "
                "when Gather is reachable (records already accepted are skipped), or raise "
                "max_retries / backoff_max_s."
            )
            raise GatherDeliveryError(msg)


def _cap_message(withheld: Withheld, percent: float) -> str:
    return (
        f"mirror mode would delete {withheld.count} of the {withheld.base} records "
        f"{withheld.source.describe()} holds in Gather in this run, more than "
        f"delete_cap_percent ({percent:g}%, {withheld.allowed} records) allows. Nothing more "
        "was deleted and no STATE was emitted past them; each is listed in the left-behind "
        "file with action 'withheld' and its reason. If the source really lost them, re-run "
        f"with confirm_deletes={withheld.code} (confirms exactly these deletes, once) or raise "
        "delete_cap_percent; otherwise fix the source (an empty or wrong portal, a selection "
        "or stream map dropping records)."
    )
