"""Tenants for the orchestration tests: each its own HubSpot emulator (own token and ID
properties), all in one Gather emulator with one workspace (and key) per tenant.

Tests run the Dagster job in process (`execute_in_process`) on a persistent temporary Dagster
instance, so pool limits and run history work as in a deployment.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from emulators.gather.pytest_plugin import GatherEmulator, GatherEmulatorFactory
from emulators.hubspot.pytest_plugin import HubSpotEmulator
from hubspot_gather_orchestration.definitions import (
    SYNC_POOL,
    MeltanoProject,
    build_definitions,
)
from hubspot_gather_orchestration.tenants import SecretRef, Tenant, load_tenants
from tests.conftest import BIN, ROOT
from tests.e2e.expected import expected_gather

# Quick retries: the bad-token tenant is retried once, a fraction of a second later.
TEST_RETRY = dg.RetryPolicy(max_retries=1, delay=0.2)
STAGGER_S = 1.0
TRANSIENT_ID = "echo"
# Nothing listens on the discard port: connections are refused at once.
UNREACHABLE_URL = "http://127.0.0.1:9"


@contextmanager
def seeded_portal(
    token: str, *, companies: int, contacts: int, seed: int
) -> Iterator[HubSpotEmulator]:
    """A HubSpot emulator, unthrottled, seeded and accepting `token`; stopped on exit."""
    hubspot = HubSpotEmulator.start()
    try:
        hubspot.unlimit()
        hubspot.seed(companies=companies, contacts=contacts, seed=seed)
        hubspot.add_credentials(tokens=[token])
        yield hubspot
    finally:
        hubspot.stop()


@contextmanager
def gather_with_workspaces(
    root: Path, workspaces: dict[str, list[str]]
) -> Iterator[GatherEmulator]:
    """A Gather emulator (data under `root`) holding `workspaces` (name -> API keys)."""
    factory = GatherEmulatorFactory(root)
    try:
        yield factory.start(workspaces=workspaces)
    finally:
        factory.stop_all()


def demo_tenant(
    monkeypatch: pytest.MonkeyPatch,
    tenant_id: str,
    workspace: str,
    credentials: tuple[str, str],
    *,
    tap_settings: dict[str, Any],
    target_settings: dict[str, Any],
) -> Tenant:
    """A tenant of the demo environment, keyed by `gather_account_id`/`gather_user_id`, whose
    (HubSpot token, Gather key) `credentials` reach its run as the env vars `<ID>_TOKEN` and
    `<ID>_GATHER_KEY`, set here through `monkeypatch`."""
    token_env, key_env = f"{tenant_id.upper()}_TOKEN", f"{tenant_id.upper()}_GATHER_KEY"
    monkeypatch.setenv(token_env, credentials[0])
    monkeypatch.setenv(key_env, credentials[1])
    return Tenant(
        id=tenant_id,
        gather_workspace=workspace,
        account_id_property="gather_account_id",
        user_id_property="gather_user_id",
        schedule=None,
        meltano_environment="demo",
        secrets={
            "tap-hubspot-gather": {"access_token": SecretRef(env=token_env)},
            "target-gather": {"api_key": SecretRef(env=key_env)},
        },
        tap_settings=tap_settings,
        target_settings=target_settings,
    )


@dataclass
class TenantFixture:
    """One tenant's HubSpot portal and how it is keyed."""

    id: str
    hubspot: HubSpotEmulator
    token: str
    gather_key: str
    account_id_property: str
    user_id_property: str

    @property
    def workspace(self) -> str:
        return f"ws-{self.id}"

    def expected(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        return expected_gather(
            self.hubspot.dump("companies"),
            self.hubspot.dump("contacts"),
            self.account_id_property,
            self.user_id_property,
        )


# Three keyings, so a tenant synced with another's settings would show at once.
KEYINGS = (
    ("alpha", "gather_account_id", "gather_user_id", 11),
    ("bravo", "companyId", "vid", 22),
    ("charlie", "companyId", "email", 33),
)


@dataclass
class Tenants:
    """The tenants file, its emulators and the Dagster definitions built from it."""

    path: Path
    good: list[TenantFixture]
    bad_id: str
    gather: GatherEmulator
    data_dir: Path
    definitions: dg.Definitions
    tenants: list[Tenant]

    @property
    def job(self) -> dg.JobDefinition:
        return self.definitions.resolve_job_def("hubspot_to_gather")


def tenant_entry(tenant: TenantFixture) -> dict[str, Any]:
    """A tenants-file entry; charlie on another schedule (two cron groups)."""
    return {
        "id": tenant.id,
        "gather_workspace": tenant.workspace,
        "account_id_property": tenant.account_id_property,
        "user_id_property": tenant.user_id_property,
        "schedule": "0 * * * *" if tenant.id != "charlie" else "30 */2 * * *",
        "secrets": {
            "tap-hubspot-gather": {"access_token": {"env": f"{tenant.id.upper()}_TOKEN"}},
            "target-gather": {"api_key": {"env": f"{tenant.id.upper()}_GATHER_KEY"}},
        },
        "tap_settings": {"api_url": tenant.hubspot.url},
    }


def write_tenants_file(
    path: Path, good: Sequence[TenantFixture], bad_id: str, bad_url: str, gather_url: str
) -> None:
    entries = [tenant_entry(tenant) for tenant in good]
    entries.append(
        {
            "id": bad_id,
            "gather_workspace": "ws-alpha",  # shares a workspace: per-workspace limits group it
            "secrets": {
                "tap-hubspot-gather": {"access_token": {"env": "DELTA_TOKEN"}},
                "target-gather": {"api_key": {"env": "ALPHA_GATHER_KEY"}},
            },
            "tap_settings": {"api_url": bad_url},
        }
    )
    # Gather unreachable: a transient failure, retried.
    entries.append(
        {
            "id": TRANSIENT_ID,
            "gather_workspace": "ws-echo",
            "secrets": {
                "tap-hubspot-gather": {"access_token": {"env": "ALPHA_TOKEN"}},
                "target-gather": {"api_key": {"env": "ALPHA_GATHER_KEY"}},
            },
            "tap_settings": {"api_url": bad_url},
            "target_settings": {"api_url": UNREACHABLE_URL, "allow_insecure_http": True},
        }
    )
    document = {
        "defaults": {
            "meltano_environment": "demo",
            "schedule": "0 * * * *",
            "tap_settings": {"search_lag_seconds": 0, "max_retries": 1},
            "target_settings": {"api_url": gather_url, "max_retries": 1},
        },
        "tenants": entries,
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def tenants(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch
) -> Iterator[Tenants]:
    root = tmp_path_factory.mktemp("orchestration")
    hubspots: list[HubSpotEmulator] = []
    factory = GatherEmulatorFactory(root)
    try:
        good = []
        for tenant_id, account_prop, user_prop, seed in KEYINGS:
            hubspot = HubSpotEmulator.start()
            hubspots.append(hubspot)
            hubspot.unlimit()
            hubspot.seed(companies=8, contacts=40, seed=seed)
            token = f"pat-{tenant_id}-token"
            hubspot.add_credentials(tokens=[token])
            good.append(
                TenantFixture(
                    tenant_id, hubspot, token, f"gather-{tenant_id}-key", account_prop, user_prop
                )
            )
        gather = factory.start(
            api_keys=["unused-default-key"],
            workspaces={t.workspace: [t.gather_key] for t in good},
        )
        for tenant in good:
            monkeypatch_module.setenv(f"{tenant.id.upper()}_TOKEN", tenant.token)
            monkeypatch_module.setenv(f"{tenant.id.upper()}_GATHER_KEY", tenant.gather_key)
        monkeypatch_module.setenv("DELTA_TOKEN", "pat-revoked-token")
        path = root / "tenants.yaml"
        write_tenants_file(path, good, "delta", good[0].hubspot.url, gather.url)
        loaded = load_tenants(path, ROOT / "meltano.yml")
        data_dir = root / "data"
        meltano = MeltanoProject(
            project_dir=str(ROOT), data_dir=str(data_dir), meltano_bin=str(BIN / "meltano")
        )
        yield Tenants(
            path=path,
            good=good,
            bad_id="delta",
            gather=gather,
            data_dir=data_dir,
            definitions=build_definitions(loaded, meltano, retry_policy=TEST_RETRY),
            tenants=loaded,
        )
    finally:
        factory.stop_all()
        for hubspot in hubspots:
            hubspot.stop()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dg.DagsterInstance]:
    """A persistent (SQLite) Dagster instance: pools need one."""
    home = tmp_path_factory.mktemp("dagster-home")
    with dg.instance_for_test(temp_dir=str(home)) as dagster_instance:
        yield dagster_instance


@dataclass(frozen=True)
class RunResult:
    """What a test needs of one run (a child process cannot send Dagster's result object)."""

    success: bool
    tags: dict[str, str]
    metadata: dict[str, Any]
    retries: int
    failure: str | None
    events_text: str
    failure_metadata: dict[str, Any]


def _execute_partition(
    tenants_file: str, data_dir: str, instance_ref: Any, tenant_id: str
) -> RunResult:
    """One run in its own process, like Dagster's run launcher starts each run."""
    instance = dg.DagsterInstance.from_ref(instance_ref)
    meltano = MeltanoProject(
        project_dir=str(ROOT), data_dir=data_dir, meltano_bin=str(BIN / "meltano")
    )
    loaded = load_tenants(Path(tenants_file), ROOT / "meltano.yml")
    job = build_definitions(loaded, meltano, TEST_RETRY).resolve_job_def("hubspot_to_gather")
    result = job.execute_in_process(
        partition_key=tenant_id, instance=instance, raise_on_error=False
    )
    metadata: dict[str, Any] = {}
    failure_metadata: dict[str, Any] = {}
    retries = 0
    failure = None
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_OUTPUT:
            data = event.step_output_data.metadata
            metadata = {key: value.value for key, value in data.items()}
        elif event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY:
            retries += 1
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            failure = error.to_string() if error else "failed"
            user_data = event.step_failure_data.user_failure_data
            if user_data is not None:
                failure_metadata = {k: v.value for k, v in user_data.metadata.items()}
    # Read back: the op adds the failure tag to the run while it runs.
    stored = instance.get_run_by_id(result.run_id)
    return RunResult(
        success=result.success,
        tags=dict(stored.tags if stored else result.dagster_run.tags),
        failure_metadata=failure_metadata,
        metadata=metadata,
        retries=retries,
        failure=failure,
        events_text="\n".join(str(event) for event in result.all_events),
    )


def materialize(
    tenants: Tenants, instance: dg.DagsterInstance, tenant_ids: Sequence[str], slots: int
) -> dict[str, RunResult]:
    """Run the job for every tenant at once, each run in its own process (threads would share
    Dagster's per-run logging set-up), at most `slots` syncs at a time through the pool."""
    instance.event_log_storage.set_concurrency_slots(SYNC_POOL, slots)
    context = multiprocessing.get_context("spawn")
    futures = {}
    with ProcessPoolExecutor(max_workers=len(tenant_ids), mp_context=context) as pool:
        for tenant_id in tenant_ids:
            futures[tenant_id] = pool.submit(
                _execute_partition,
                str(tenants.path),
                str(tenants.data_dir),
                instance.get_ref(),
                tenant_id,
            )
            # Dagster's slot claim is only atomic on PostgreSQL storage (SQLite ignores
            # SELECT ... FOR UPDATE): runs claiming in the same millisecond could both win.
            # Deployments use PostgreSQL (orchestration/README.md); here starts are staggered.
            time.sleep(STAGGER_S)
        return {tenant_id: future.result() for tenant_id, future in futures.items()}
