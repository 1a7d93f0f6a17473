"""The Dagster job for three tenants plus one with a revoked token, in process.

Order matters (one module-scoped set of emulators and state): the first materialization
syncs everyone at once under a pool limit of 2, the second one is incremental per tenant.
"""

from __future__ import annotations

import os
import time
from itertools import combinations
from pathlib import Path

import dagster as dg
import pytest

from hubspot_gather_orchestration.definitions import (
    ASSET_KEY,
    FAILURE_TAG,
    TENANT_TAG,
    WORKSPACE_TAG,
)
from hubspot_gather_orchestration.health import SENSOR_NAME, tenant_health
from tests.e2e.expected import without_cleared_links
from tests.orchestration.conftest import TRANSIENT_ID, Tenants, materialize

pytestmark = [pytest.mark.meltano, pytest.mark.slow]
SLOTS = 2


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    current = peak = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def test_first_materialization_lands_every_tenant_in_its_own_workspace(
    tenants: Tenants, instance: dg.DagsterInstance
) -> None:
    ids = [t.id for t in tenants.good] + [tenants.bad_id, TRANSIENT_ID]
    results = materialize(tenants, instance, ids, slots=SLOTS)

    # The revoked token fails its own run only, at once: no retry can fix it.
    bad = results[tenants.bad_id]
    assert not bad.success
    assert bad.retries == 0
    assert bad.failure is not None
    assert "tenant delta: meltano run exited with 1" in bad.failure
    assert "HTTP 401" in bad.failure
    assert bad.tags[FAILURE_TAG] == "authentication"
    assert bad.failure_metadata["failure_kind"] == "authentication"
    assert "HTTP 401" in bad.failure_metadata["reason"]
    assert "pat-revoked-token" not in bad.events_text
    # An unreachable Gather is transient: retried (once, under the tests' policy), then failed.
    transient = results[TRANSIENT_ID]
    assert not transient.success
    assert transient.retries == 1
    assert transient.tags[FAILURE_TAG] == "transient"
    assert "not delivered" in transient.failure_metadata["reason"]

    intervals = []
    for tenant in tenants.good:
        result = results[tenant.id]
        assert result.success, tenant.id
        assert result.tags[TENANT_TAG] == tenant.id
        assert result.tags[WORKSPACE_TAG] == tenant.workspace
        accounts, users = tenant.expected()
        assert accounts
        assert users
        assert tenants.gather.records("account", workspace=tenant.workspace) == accounts
        assert (
            without_cleared_links(tenants.gather.records("user", workspace=tenant.workspace))
            == users
        )
        metadata = result.metadata
        assert metadata["account.created"] == len(accounts)
        assert metadata["user.created"] == len(users)
        assert metadata["hubspot_requests"] > 0
        intervals.append((metadata["started_at"], metadata["finished_at"]))
        # The run's own Meltano system folder held its catalog (not the project's .meltano/run).
        run_dir = Path(metadata["run_dir"])
        assert (
            run_dir / "meltano-sys" / "run" / "tap-hubspot-gather" / "tap.properties.json"
        ).exists()
    # Nothing landed in the workspace nobody synced to.
    assert tenants.gather.records("account", workspace="default") == {}

    # The pool held: never more than SLOTS syncs at once, and they did run side by side.
    assert max_overlap(intervals) <= SLOTS
    assert any(a[0] < b[1] and b[0] < a[1] for a, b in combinations(intervals, 2))

    # No secret in any file the runs wrote (the plugin venvs are links, not walked).
    secrets = [t.token for t in tenants.good] + [t.gather_key for t in tenants.good]
    for folder, _, files in os.walk(tenants.data_dir):
        for name in files:
            text = (Path(folder) / name).read_bytes().decode("utf-8", "replace")
            assert not [s for s in secrets if s in text], Path(folder) / name

    # One state ID per tenant, each with its own bookmarks.
    states = sorted(p.parent.name for p in (tenants.data_dir / "state").rglob("state.json"))
    assert states == sorted(
        f"demo:tap-hubspot-gather-to-target-gather:{t.id}" for t in tenants.good
    )


def test_second_materialization_is_incremental_per_tenant(
    tenants: Tenants, instance: dg.DagsterInstance
) -> None:
    alpha, bravo, charlie = tenants.good
    # One change in alpha's portal only.
    company = alpha.hubspot.dump("companies")[0]
    alpha.hubspot.update("companies", company["id"], {"city": "Incremental City"})

    # All three at once: a slot each.
    results = materialize(tenants, instance, [t.id for t in tenants.good], slots=3)

    for tenant in tenants.good:
        assert results[tenant.id].success, tenant.id
        accounts, users = tenant.expected()
        assert tenants.gather.records("account", workspace=tenant.workspace) == accounts
        assert (
            without_cleared_links(tenants.gather.records("user", workspace=tenant.workspace))
            == users
        )
    alpha_run = results[alpha.id].metadata
    # Only the changed company travelled: alpha's bookmark was read, not another tenant's.
    assert alpha_run.get("account.updated") == 1
    assert alpha_run.get("account.created", 0) == 0
    assert alpha_run.get("user.created", 0) == 0
    for quiet in (bravo, charlie):
        metadata = results[quiet.id].metadata
        assert metadata.get("account.created", 0) == 0
        assert metadata.get("user.created", 0) == 0
        # Nothing was sent for them (the default relink sweep re-reads their contacts, and
        # the target skips every unchanged one).
        assert metadata.get("account.updated", 0) == 0
        assert metadata.get("user.updated", 0) == 0

    # Each tenant's run history: one materialization per successful run of its partition.
    for tenant in tenants.good:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=ASSET_KEY, asset_partitions=[tenant.id]), limit=10
        ).records
        assert len(records) == 2, tenant.id


def test_stale_tenants_are_flagged_with_their_last_failure(
    tenants: Tenants, instance: dg.DagsterInstance
) -> None:
    """After the two materializations: delta (revoked token) and echo (Gather unreachable)
    never synced and are stale now, with their failure; three hours later alpha and bravo
    (hourly: 2 h allowed) are stale too, charlie (every 2 hours: 4 h allowed) is not."""
    now = time.time()
    health = {h.tenant: h for h in tenant_health(instance, tenants.tenants, now)}
    assert {t for t, h in health.items() if h.stale} == {tenants.bad_id, TRANSIENT_ID}
    bad = health[tenants.bad_id]
    assert bad.last_success is None
    assert bad.last_failure is not None
    assert bad.last_failure.startswith("authentication: ")
    assert "HTTP 401" in bad.last_failure
    assert (health[TRANSIENT_ID].last_failure or "").startswith("transient: ")
    later = {h.tenant: h for h in tenant_health(instance, tenants.tenants, now + 3 * 3600)}
    assert {t for t, h in later.items() if h.stale} == {"alpha", "bravo", "delta", "echo"}
    assert later["alpha"].allowed_age_s == 2 * 3600
    assert later["charlie"].allowed_age_s == 4 * 3600
    assert later["alpha"].last_failure is None

    # The sensor, as the daemon evaluates it: an observation per newly stale tenant, once.
    sensor = tenants.definitions.resolve_sensor_def(SENSOR_NAME)
    with dg.build_sensor_context(instance=instance) as context:
        result = sensor.evaluate_tick(context)
    assert result.skip_message is not None
    assert "2 stale tenant(s)" in result.skip_message
    assert "delta: no successful sync yet" in result.skip_message
    observed = {event.partition: event for event in result.asset_events}
    assert set(observed) == {tenants.bad_id, TRANSIENT_ID}
    assert str(observed["delta"].metadata["last_failure"].value).startswith("authentication")
    with dg.build_sensor_context(instance=instance, cursor=result.cursor) as context:
        again = sensor.evaluate_tick(context)
    assert again.asset_events == []
