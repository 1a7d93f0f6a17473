"""The sink: map -> validate -> dedupe -> diff -> send -> record outcomes.

Records are mapped as they arrive (invalid ones are set aside with their reason), deduplicated by
Gather id (the last record per id wins), and sent when the target drains. A drain returns only
when every record of the batch is acknowledged by Gather or durably in the rejects file; if
retries run out it raises, so the target never emits a STATE past unsent records.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from singer_sdk.sinks import BatchSink

from target_gather.client import (
    GatherClient,
    GatherError,
    Outcome,
    Request,
    encode,
    record_path,
)
from target_gather.ledger import DELETED_DIGEST, Ledger, digest
from target_gather.mapping import (
    BoundMapping,
    InvalidRecordError,
    Mapped,
    MappingSpec,
    NullPolicy,
    bind,
    normalize_id,
    spec_for,
)
from target_gather.report import RejectsWriter, RunSummary

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from singer_sdk.sinks.core import BaseJSONSchemaValidator
    from singer_sdk.target_base import Target

EVENTS_PATH = "/events"


class GatherDeliveryError(GatherError):
    """Some records could not be delivered after every retry."""


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
    delete_records: bool
    protocol_errors: Counter[str] = field(default_factory=Counter)


class GatherSink(BatchSink):
    """Turns one stream's records into Gather upserts, deletes or events."""

    services: Services

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        services: Services = target.services  # type: ignore[attr-defined]
        self.services = services
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
        self._invalid: list[tuple[str | None, str, dict[str, Any]]] = []
        self._duplicates = 0
        self._ignored = 0
        self._ignore = self.mapping.spec.kind == "ignore"
        kind = self.mapping.spec.kind
        self._post_path = EVENTS_PATH if kind == "event" else record_path(self.mapping.model)

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """No per-record JSON Schema validation: `map_record` checks what Gather needs."""
        return None

    # -- intake (hot path) -----------------------------------------------------------------

    def accept(self, record: dict[str, Any]) -> None:
        """Map one record and queue it; the last record per Gather id wins."""
        self._batch_records_read += 1
        self._total_records_read += 1
        if self._ignore:
            self._ignored += 1
            return
        for key in self._key_properties:
            if key not in record:
                reason = f"key property {key!r} is absent: the tap broke the Singer spec"
                self._invalid.append((None, reason, record))
                self.services.protocol_errors[self.stream_name] += 1
                return
        try:
            mapped = self.mapping.map_record(record)
        except InvalidRecordError as exc:
            record_id = normalize_id(record.get(self.mapping.id_field))
            self._invalid.append((record_id, str(exc), record))
            return
        if mapped.key in self._pending:
            self._duplicates += 1
            del self._pending[mapped.key]  # keep arrival order of the winning record
        self._pending[mapped.key] = mapped

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """The SDK's own record path (used with stream maps) ends here too."""
        self._batch_records_read -= 1  # the SDK tallies this record itself
        self._total_records_read -= 1
        self.accept(record)

    # -- drain -----------------------------------------------------------------------------

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        """Send the batch; return once every record has a durable outcome."""
        pending, self._pending = self._pending, {}
        invalid, self._invalid = self._invalid, []
        duplicates, self._duplicates = self._duplicates, 0
        ignored_stream, self._ignored = self._ignored, 0
        s = self.services
        model = self.mapping.model
        self.record_counter_metric.increment(
            len(pending) + len(invalid) + duplicates + ignored_stream
        )
        if ignored_stream:
            s.summary.add(model, ignored=ignored_stream)
        for record_id, reason, record in invalid:
            s.rejects.write(
                stream=self.stream_name,
                model=model,
                record_id=record_id,
                outcome="invalid",
                reason=reason,
                http_status=None,
                payload=record,
            )
        s.summary.add(model, invalid=len(invalid), duplicates=duplicates)

        upserts: dict[str, Mapped] = {}
        deletes: list[str] = []
        ignored = 0
        for key, mapped in pending.items():
            if not mapped.delete:
                upserts[key] = mapped
            elif s.delete_records and self.mapping.spec.kind != "event":
                deletes.append(key)
            else:
                ignored += 1
        bodies = {key: encode(m.body) for key, m in upserts.items()}
        digests = {key: digest(body) for key, body in bodies.items()}
        known: dict[str, bytes] = {}
        if not s.full_resync:
            known = s.ledger.lookup(model, self.stream_name, [*digests, *deletes])
        changed = [key for key, d in digests.items() if known.get(key) != d]
        to_delete = [key for key in deletes if known.get(key) != DELETED_DIGEST]
        unchanged = len(digests) - len(changed) + len(deletes) - len(to_delete)

        if s.dry_run:
            new = sum(1 for key in changed if key not in known)
            s.summary.add(
                model,
                created=new,
                updated=len(changed) - new,
                unchanged=unchanged,
                deleted=len(to_delete),
                ignored_deletes=ignored,
            )
            s.rejects.sync()
            return

        s.summary.add(model, unchanged=unchanged, ignored_deletes=ignored)
        s.ledger.forget(model, self.stream_name, [*changed, *to_delete])
        requests = [Request("POST", self._post_path, bodies[key]) for key in changed]
        requests += [Request("DELETE", record_path(model, key), None) for key in to_delete]
        keys = [*changed, *to_delete]
        outcomes = s.client().send_all(requests) if requests else []
        self._record_outcomes(
            model=model,
            keys=keys,
            requests=requests,
            outcomes=outcomes,
            upserts=upserts,
            digests=digests,
        )

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
                s.rejects.write(
                    stream=self.stream_name,
                    model=model,
                    record_id=key,
                    outcome="rejected",
                    reason=outcome.reason,
                    http_status=outcome.status,
                    payload=upserts[key].body if key in upserts else None,
                )
            else:
                failed.append(outcome)
        s.ledger.remember(model, self.stream_name, accepted)
        if gone:
            s.ledger.forget_everywhere(model, gone)
            s.ledger.remember(model, self.stream_name, [(key, DELETED_DIGEST) for key in gone])
        s.summary.add(model, **counts)
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
