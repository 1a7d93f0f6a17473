"""Which tenants have not synced for too long, and why: a sensor operators can see.

A tenant is **stale** when its last successful sync (its latest materialization of
``hubspot_gather_sync``) is older than twice its schedule's interval, or when it has none yet
but has failed. The sensor ``hubspot_gather_stale_tenants`` (every 5 minutes, on by default:
it starts no runs) records an `AssetObservation` on the tenant's partition when the tenant
becomes stale, with the last success, the allowed age and the last failure's kind and reason,
and its tick says which tenants are stale. A tenant without a schedule is never stale.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import dagster as dg
from dagster._utils.schedules import cron_string_iterator  # the cron maths Dagster schedules use

from hubspot_gather_orchestration.names import ASSET_KEY, FAILURE_TAG, JOB_NAME, TENANT_TAG
from hubspot_gather_orchestration.tenants import Tenant

SENSOR_NAME = "hubspot_gather_stale_tenants"
SENSOR_INTERVAL_S = 300
# "Older than twice its schedule": two missed ticks in a row, not one late run.
STALE_FACTOR = 2
SHOWN_TENANTS = 10
REASON_CHARS = 300


@dataclass(frozen=True)
class TenantHealth:
    """One tenant's freshness: when it last synced, how old it may get, its last failure."""

    tenant: str
    stale: bool
    last_success: float | None
    allowed_age_s: float
    last_failure: str | None

    def describe(self, now: float) -> str:
        """One line for the sensor's tick, e.g. ``acme: last success 3.1 h ago (2.0 h ...)``."""
        if self.last_success is None:
            seen = "no successful sync yet"
        else:
            seen = f"last success {(now - self.last_success) / 3600:.1f} h ago"
        text = f"{self.tenant}: {seen} ({self.allowed_age_s / 3600:.1f} h allowed)"
        return f"{text}; last failure: {self.last_failure}" if self.last_failure else text


def schedule_interval_s(cron: str, now: float) -> float:
    """The gap between the last two ticks of `cron` before `now` (UTC), in seconds."""
    ticks = cron_string_iterator(now, cron, "UTC", ascending=False)
    latest, before = next(ticks), next(ticks)
    return (latest - before).total_seconds()


def _last_success(instance: dg.DagsterInstance, tenant: str) -> float | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=ASSET_KEY, asset_partitions=[tenant]), limit=1
    ).records
    return records[0].timestamp if records else None


def _last_failure(instance: dg.DagsterInstance, tenant: str, after: float | None) -> str | None:
    """The kind and reason of the tenant's latest failed run, if it came after `after`."""
    records = instance.get_run_records(
        dg.RunsFilter(
            job_name=JOB_NAME,
            tags={TENANT_TAG: tenant},
            statuses=[dg.DagsterRunStatus.FAILURE],
        ),
        limit=1,
    )
    if not records or (after is not None and (records[0].end_time or 0) < after):
        return None
    run = records[0].dagster_run
    kind = run.tags.get(FAILURE_TAG, "unknown")
    reason = ""
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        event = entry.dagster_event
        data = event.step_failure_data.user_failure_data if event else None
        if data is not None and "reason" in data.metadata:
            reason = str(data.metadata["reason"].value)
    return f"{kind}: {reason[:REASON_CHARS]}" if reason else kind


def tenant_health(
    instance: dg.DagsterInstance, tenants: Sequence[Tenant], now: float
) -> list[TenantHealth]:
    """The freshness of every scheduled tenant at `now` (seconds since the epoch)."""
    found = []
    for tenant in tenants:
        if tenant.schedule is None:
            continue
        allowed = STALE_FACTOR * schedule_interval_s(tenant.schedule, now)
        success = _last_success(instance, tenant.id)
        failure = _last_failure(instance, tenant.id, success)
        # Never synced: stale once it has failed (a new tenant is not stale before its run).
        stale = failure is not None if success is None else now - success > allowed
        found.append(TenantHealth(tenant.id, stale, success, allowed, failure))
    return found


def _observation(health: TenantHealth) -> dg.AssetObservation:
    metadata: dict[str, dg.RawMetadataValue] = {
        "stale": True,
        "allowed_age_s": health.allowed_age_s,
        "last_failure": health.last_failure or "",
    }
    if health.last_success is not None:
        metadata["last_success"] = dg.TimestampMetadataValue(health.last_success)
    return dg.AssetObservation(asset_key=ASSET_KEY, partition=health.tenant, metadata=metadata)


def build_stale_tenants_sensor(tenants: Sequence[Tenant]) -> dg.SensorDefinition:
    """The sensor flagging stale tenants (see the module docstring).

    Its cursor holds the stale tenants already reported (with the last success they were
    reported for), so a tenant is observed once per stale spell, not every 5 minutes.
    """

    def stale_tenants(context: dg.SensorEvaluationContext) -> Iterator[dg.SensorResult]:
        now = time.time()
        reported: dict[str, float | None] = json.loads(context.cursor) if context.cursor else {}
        stale = [h for h in tenant_health(context.instance, tenants, now) if h.stale]
        new = [h for h in stale if h.tenant not in reported or reported[h.tenant] != h.last_success]
        cursor = json.dumps({h.tenant: h.last_success for h in stale}, sort_keys=True)
        if stale:
            shown = "; ".join(h.describe(now) for h in stale[:SHOWN_TENANTS])
            more = f" (+{len(stale) - SHOWN_TENANTS} more)" if len(stale) > SHOWN_TENANTS else ""
            summary = f"{len(stale)} stale tenant(s): {shown}{more}"
        else:
            at = datetime.fromtimestamp(now, tz=timezone.utc).isoformat(timespec="seconds")
            summary = f"no stale tenant at {at}"
        yield dg.SensorResult(
            skip_reason=summary,
            asset_events=[_observation(h) for h in new],
            cursor=cursor,
        )

    stale_tenants.__annotations__.update(context=dg.SensorEvaluationContext)
    return dg.sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=SENSOR_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Flags tenants whose last successful sync is older than twice their "
        "schedule, with their last failure.",
    )(stale_tenants)
