"""Dagster definitions: one job partitioned by tenant, schedules per cron group, limits.

- ``hubspot_to_gather``: one op running the tenant's `meltano run` (`meltano_run.run_tenant`);
  a run is one tenant (its partition key), tagged ``tenant`` and ``gather/workspace`` however
  it was started (schedule, backfill, UI), so run-queue limits and UI filters see them.
- A failed sync raises, classified (`failures.classify`): a transient failure is retried with
  backoff (`RetryPolicy`), a permanent one (credentials, scopes, settings, ID property) fails
  the run at once, its kind in the run's ``hubspot_gather/failure`` tag and the metadata;
  other tenants' runs are separate runs and never wait for it beyond the concurrency limits.
- Concurrency: the op is in the pool `SYNC_POOL` (slots set on the instance: at most that many
  syncs at once, enforced by Dagster in every executor), and the instance's run queue limits
  runs globally and per ``gather/workspace`` tag (``dagster.yaml`` in this folder).
- Each run's outcome is Dagster metadata: records per Gather model (created, updated,
  unchanged, invalid, rejected, ...) from the target's summary, HubSpot requests, duration,
  and an asset materialization of ``hubspot_gather_sync`` for the tenant's partition, so the
  asset's page shows each tenant's history.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from hubspot_gather_orchestration.failures import FailureKind
from hubspot_gather_orchestration.health import build_stale_tenants_sensor
from hubspot_gather_orchestration.meltano_run import (
    LOG_FILE,
    MeltanoSetup,
    RunOutcome,
    TenantRunError,
    run_tenant,
    state_id,
)
from hubspot_gather_orchestration.names import (
    ASSET_KEY,
    FAILURE_TAG,
    JOB_NAME,
    OP_NAME,
    SYNC_POOL,
    TENANT_TAG,
    WORKSPACE_TAG,
)
from hubspot_gather_orchestration.tenants import Tenant

# A transient failure (429s past the plugins' budget, 5xx, network) is retried three times.
# Dagster waits delay * (2**n - 1) before retry n with Backoff.EXPONENTIAL, and Jitter.PLUS_MINUS
# adds a uniform -delay..+delay (dagster._core.definitions.policy.calculate_delay): with a
# 30 s delay, 30, 90 and 210 s (each +/- 30 s), 5.5 minutes in all on average: long enough for
# HubSpot's or Gather's short outages, short enough to fit an hourly cycle. Permanent failures
# (credentials, scopes, settings, ID properties) are never retried (`failures.classify`).
RETRY_DELAY_S = 30
DEFAULT_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=RETRY_DELAY_S, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


class MeltanoProject(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where the Meltano project is, and where tenant data, state and the system DB live.

    On one machine the defaults suffice; across machines set `state_backend_uri` (s3://...)
    and `database_uri` (postgresql://..., best from an env var: ``dg.EnvVar("...")``).
    """

    project_dir: str
    data_dir: str
    meltano_bin: str = "meltano"
    state_backend_uri: str | None = None
    database_uri: str | None = None

    def setup(self) -> MeltanoSetup:
        """The plain settings `run_tenant` takes."""
        return MeltanoSetup(
            project_dir=Path(self.project_dir),
            data_dir=Path(self.data_dir),
            meltano_bin=self.meltano_bin,
            state_backend_uri=self.state_backend_uri,
            database_uri=self.database_uri,
        )


class TenantRun(dg.Config):
    """The run config: which tenant (set from the partition key)."""

    tenant: str


def run_tags(tenant: Tenant) -> dict[str, str]:
    """Tags of every run of `tenant`."""
    return {TENANT_TAG: tenant.id, WORKSPACE_TAG: tenant.gather_workspace}


def outcome_metadata(outcome: RunOutcome) -> dict[str, Any]:
    """The run's outcome as Dagster metadata (flat keys, so the UI can chart them)."""
    metadata: dict[str, Any] = {
        "tenant": outcome.tenant,
        "duration_s": dg.FloatMetadataValue(round(outcome.duration_s, 3)),
        "started_at": dg.TimestampMetadataValue(outcome.started_at),
        "finished_at": dg.TimestampMetadataValue(outcome.finished_at),
        "run_dir": dg.PathMetadataValue(str(outcome.run_dir)),
        "exit_code": outcome.returncode,
    }
    if outcome.hubspot_requests is not None:
        metadata["hubspot_requests"] = outcome.hubspot_requests
    for model, counts in outcome.model_counts().items():
        for name, value in counts.items():
            metadata[f"{model}.{name}"] = value
    return metadata


def _failure(
    context: dg.OpExecutionContext, kind: FailureKind, description: str, metadata: dict[str, Any]
) -> dg.Failure:
    """The op's failure: kind and reason in its metadata and the run's tag, retried if transient.

    The tag (``hubspot_gather/failure=<kind>``) lets the UI's run list filter, e.g. every
    tenant whose credentials need renewing; it is set on the run, so the last attempt's kind
    is what the run shows.
    """
    context.instance.add_run_tags(context.run_id, {FAILURE_TAG: kind.value})
    return dg.Failure(
        description=f"{kind.value}{'' if kind.retryable else ' (not retried)'}: {description}",
        metadata={**metadata, "failure_kind": kind.value, "reason": description},
        allow_retries=kind.retryable,
    )


def _op(tenants: dict[str, Tenant], retry_policy: dg.RetryPolicy) -> dg.OpDefinition:
    def sync_tenant(
        context: dg.OpExecutionContext, config: TenantRun, meltano: MeltanoProject
    ) -> Iterator[dg.AssetMaterialization | dg.Output[None]]:
        """`meltano run` for the run's tenant; fails (and is retried) when it fails."""
        tenant = tenants.get(config.tenant)
        if tenant is None:
            msg = f"tenant {config.tenant!r} is not in the tenants file (known: {len(tenants)})"
            raise dg.Failure(description=msg, allow_retries=False)
        context.log.info(
            "tenant %s: meltano run, state ID %s, attempt %d",
            tenant.id,
            state_id(tenant),
            context.retry_number + 1,
        )
        try:
            outcome = run_tenant(
                tenant, meltano.setup(), f"{context.run_id}-{context.retry_number}"
            )
        except TenantRunError as exc:
            # A missing secret or meltano binary: the same on every attempt.
            raise _failure(context, FailureKind.INVALID_SETTINGS, str(exc), {}) from None
        metadata = outcome_metadata(outcome)
        if outcome.returncode != 0:
            reason = outcome.error or "no error line in the log"
            kind = outcome.failure.kind if outcome.failure else FailureKind.UNKNOWN
            raise _failure(
                context,
                kind,
                f"tenant {tenant.id}: meltano run exited with {outcome.returncode}: "
                f"{reason} (log: {outcome.run_dir / LOG_FILE})",
                {**metadata, "log_tail": dg.MetadataValue.text(outcome.log_tail)},
            )
        yield dg.AssetMaterialization(asset_key=ASSET_KEY, partition=tenant.id, metadata=metadata)
        yield dg.Output(None, metadata=metadata)

    # Dagster reads the config and resource types from the annotations, which are strings
    # under `from __future__ import annotations` and cannot be resolved inside a closure.
    sync_tenant.__annotations__.update(
        context=dg.OpExecutionContext, config=TenantRun, meltano=MeltanoProject
    )
    return dg.op(name=OP_NAME, pool=SYNC_POOL, retry_policy=retry_policy)(sync_tenant)


def cron_schedule_name(cron: str) -> str:
    """A schedule name for one cron group, e.g. ``hubspot_to_gather_0_x_x_x_x``."""
    return f"{JOB_NAME}_" + re.sub(r"[^A-Za-z0-9]+", "_", cron.replace("*", "x")).strip("_")


def _schedules(tenants: Sequence[Tenant], job: dg.JobDefinition) -> list[dg.ScheduleDefinition]:
    groups: dict[str, list[Tenant]] = {}
    for tenant in tenants:
        if tenant.schedule is not None:
            groups.setdefault(tenant.schedule, []).append(tenant)
    schedules = []
    for cron, members in groups.items():

        def requests(
            context: dg.ScheduleEvaluationContext, members: list[Tenant] = members
        ) -> Iterator[dg.RunRequest]:
            tick = context.scheduled_execution_time
            for tenant in members:
                yield dg.RunRequest(
                    run_key=f"{tenant.id}:{tick.isoformat() if tick else ''}",
                    partition_key=tenant.id,
                    tags=run_tags(tenant),
                )

        schedules.append(
            dg.ScheduleDefinition(
                name=cron_schedule_name(cron),
                cron_schedule=cron,
                job=job,
                execution_fn=requests,
                description=f"{len(members)} tenant(s): {', '.join(t.id for t in members[:10])}",
            )
        )
    return schedules


def build_job(
    tenants: Sequence[Tenant], retry_policy: dg.RetryPolicy = DEFAULT_RETRY_POLICY
) -> dg.JobDefinition:
    """The job partitioned by tenant (one partition per tenants-file entry)."""
    by_id = {tenant.id: tenant for tenant in tenants}

    @dg.static_partitioned_config(
        partition_keys=list(by_id), tags_for_partition_key_fn=lambda key: run_tags(by_id[key])
    )
    def tenant_config(partition_key: str) -> dict[str, Any]:
        return {"ops": {OP_NAME: {"config": {"tenant": partition_key}}}}

    # One op per run: the in-process executor runs it in the run worker itself. Dagster's
    # default (multiprocess) executor would start a step process per op on top of the run
    # worker, a second Python + dagster + definitions start per run: ~1.9 CPU s of an idle
    # run's ~3.1 Dagster CPU s (bench/idle_run.py). Pools, retry policies and run tags work
    # the same in either executor.
    @dg.job(
        name=JOB_NAME,
        config=tenant_config,
        tags={"pipeline": "hubspot-to-gather"},
        executor_def=dg.in_process_executor,
    )
    def hubspot_to_gather() -> None:
        _op(by_id, retry_policy)()

    return hubspot_to_gather


def build_definitions(
    tenants: Sequence[Tenant],
    meltano: MeltanoProject,
    retry_policy: dg.RetryPolicy = DEFAULT_RETRY_POLICY,
) -> dg.Definitions:
    """Everything Dagster loads: the job, one schedule per cron group, the stale-tenants
    sensor, the Meltano resource."""
    job = build_job(tenants, retry_policy)
    return dg.Definitions(
        jobs=[job],
        schedules=_schedules(tenants, job),
        sensors=[build_stale_tenants_sensor(tenants)],
        resources={"meltano": meltano},
    )
