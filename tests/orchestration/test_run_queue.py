"""The deployment's run queue and pool on PostgreSQL, with Dagster's own daemon.

Dagster's instance lives on a throwaway PostgreSQL server (`tests/services/postgres.py`) with
the shipped `orchestration/dagster.yaml` limits (at most 2 runs per Gather workspace, 1 per
tenant) and, to make the global limit and the pool bind with a handful of tenants, at most 3
runs in progress and 2 syncs in the pool. Six runs (five tenants, one of them twice; three
tenants share a workspace) are queued at once by `dagster job backfill`, as a schedule tick
would; `dagster-daemon run` dequeues and launches them, each as its own process running the
real `meltano run`. From the runs' own records: every run succeeded, and never were more runs
in progress at once than each limit allows, nor more syncs than the pool's slots.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from emulators.gather.pytest_plugin import GatherEmulator
from emulators.hubspot.pytest_plugin import HubSpotEmulator
from hubspot_gather_orchestration.definitions import JOB_NAME, TENANT_TAG, WORKSPACE_TAG
from tests.conftest import BIN, ROOT
from tests.orchestration.conftest import gather_with_workspaces, seeded_portal
from tests.orchestration.test_tenant_runs import max_overlap
from tests.services.postgres import PostgresServer

pytestmark = [pytest.mark.meltano, pytest.mark.slow]
TOKEN = "pat-queue-token"
MAX_RUNS = 3
POOL_SLOTS = 2
WORKSPACE_LIMIT = 2  # orchestration/dagster.yaml
# Five tenants: three share workspace ws-a. q1 is queued twice (a tick while its run goes on).
TENANTS = {"q1": "ws-a", "q2": "ws-a", "q3": "ws-a", "q4": "ws-b", "q5": "ws-c"}
QUEUED = ["q1", "q2", "q3", "q4", "q5", "q1"]
DEADLINE_S = 300.0
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@pytest.fixture
def portal() -> Iterator[HubSpotEmulator]:
    with seeded_portal(TOKEN, companies=2, contacts=4, seed=23) as hubspot:
        yield hubspot


@pytest.fixture
def gather(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatherEmulator]:
    workspaces = {ws: [f"key-{ws}"] for ws in set(TENANTS.values())}
    with gather_with_workspaces(tmp_path_factory.mktemp("gather"), workspaces) as emulator:
        yield emulator


def instance_yaml(postgres_url: str) -> dict[str, Any]:
    """The shipped instance settings on PostgreSQL, with limits small enough to bind here."""
    shipped = yaml.safe_load((ROOT / "orchestration" / "dagster.yaml").read_text("utf-8"))
    shipped["concurrency"]["runs"]["max_concurrent_runs"] = MAX_RUNS
    shipped["concurrency"]["pools"]["default_limit"] = POOL_SLOTS
    shipped["storage"] = {"postgres": {"postgres_url": postgres_url}}
    shipped["run_coordinator"] = {
        "module": "dagster",
        "class": "QueuedRunCoordinator",
        "config": {"dequeue_interval_seconds": 1},
    }
    return shipped


def tenants_file(path: Path, hubspot_url: str, gather_url: str) -> None:
    entries = [
        {
            "id": tenant,
            "gather_workspace": workspace,
            "account_id_property": "gather_account_id",
            "user_id_property": "gather_user_id",
            "secrets": {
                "tap-hubspot-gather": {"access_token": {"env": "QUEUE_TOKEN"}},
                "target-gather": {"api_key": {"env": f"QUEUE_KEY_{workspace[-1].upper()}"}},
            },
        }
        for tenant, workspace in TENANTS.items()
    ]
    document = {
        "defaults": {
            "meltano_environment": "demo",
            "schedule": None,
            "tap_settings": {"api_url": hubspot_url, "search_lag_seconds": 0},
            "target_settings": {"api_url": gather_url},
        },
        "tenants": entries,
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")


def peak(records: list[dg.RunRecord], key: str | None = None) -> int:
    """The most runs (with the same value of tag `key`) in progress at one instant."""
    groups: dict[str, list[tuple[float, float]]] = {}
    for record in records:
        value = record.dagster_run.tags.get(key, "") if key else ""
        start, end = record.start_time, record.end_time
        assert start is not None
        assert end is not None
        groups.setdefault(value, []).append((start, end))
    return max(max_overlap(intervals) for intervals in groups.values())


def test_the_daemon_queue_keeps_every_limit_on_postgres(
    postgres_server: PostgresServer,
    portal: HubSpotEmulator,
    gather: GatherEmulator,
    tmp_path: Path,
) -> None:
    home = tmp_path / "dagster-home"
    home.mkdir()
    database = postgres_server.create_database("dagster_queue")
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml(database)), "utf-8")
    workspace = tmp_path / "workspace.yaml"
    module = {"module_name": "hubspot_gather_orchestration.deployment"}
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": module}]}), "utf-8")
    tenants = tmp_path / "tenants.yaml"
    tenants_file(tenants, portal.url, gather.url)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "HUBSPOT_GATHER_TENANTS_FILE": str(tenants),
        "HUBSPOT_GATHER_PROJECT_DIR": str(ROOT),
        "HUBSPOT_GATHER_DATA_DIR": str(tmp_path / "data"),
        "HUBSPOT_GATHER_MELTANO_BIN": str(BIN / "meltano"),
        "QUEUE_TOKEN": TOKEN,
        **{f"QUEUE_KEY_{ws[-1].upper()}": f"key-{ws}" for ws in set(TENANTS.values())},
    }
    dagster = [str(BIN / "dagster"), "job", "backfill", "-w", str(workspace), "-j", JOB_NAME]
    for batch in (QUEUED[:-1], QUEUED[-1:]):
        subprocess.run(
            [*dagster, "--partitions", ",".join(batch), "--noprompt"],
            cwd=tmp_path, env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    instance = dg.DagsterInstance.from_config(str(home))
    queued = instance.get_run_records()
    assert len(queued) == len(QUEUED)
    assert {r.dagster_run.status for r in queued} == {dg.DagsterRunStatus.QUEUED}

    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
        cwd=tmp_path, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "daemon.log").open("w"),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            records = instance.get_run_records()
            if all(r.dagster_run.status in FINISHED for r in records):
                break
            time.sleep(1)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=30)

    records = instance.get_run_records()
    statuses = {r.dagster_run.tags[TENANT_TAG]: r.dagster_run.status for r in records}
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records), statuses
    assert sorted(r.dagster_run.tags[TENANT_TAG] for r in records) == sorted(QUEUED)
    # Every limit held, and the queue really ran runs side by side.
    assert 2 <= peak(records) <= MAX_RUNS
    assert peak(records, WORKSPACE_TAG) <= WORKSPACE_LIMIT
    assert peak(records, TENANT_TAG) == 1
    # The op ran inside its run worker (the job's in-process executor), not in a step process
    # of its own: one Python + Dagster start per run, not two.
    for record in records:
        run_id = record.dagster_run.run_id
        (worker,) = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_START)
        steps = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
        assert steps, run_id
        assert worker.dagster_event is not None
        pids = {step.dagster_event.pid for step in steps if step.dagster_event}
        assert pids == {worker.dagster_event.pid}, run_id
    syncs = []
    for record in records:
        materialization = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey("hubspot_gather_sync"),
                asset_partitions=[record.dagster_run.tags[TENANT_TAG]],
            ),
            limit=10,
        ).records
        for event in materialization:
            if event.run_id == record.dagster_run.run_id:
                metadata = event.asset_materialization.metadata  # type: ignore[union-attr]
                syncs.append((metadata["started_at"].value, metadata["finished_at"].value))
    assert len(syncs) == len(QUEUED)
    assert max_overlap(syncs) <= POOL_SLOTS
    for tenant, workspace_name in TENANTS.items():
        assert gather.records("account", workspace=workspace_name), tenant
