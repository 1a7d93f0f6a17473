"""The tenants file, each run's environment and the Dagster definitions, without running Meltano."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from hubspot_gather_orchestration.cli import main as cli_main
from hubspot_gather_orchestration.definitions import (
    DEFAULT_RETRY_POLICY,
    JOB_NAME,
    OP_NAME,
    RETRY_DELAY_S,
    SYNC_POOL,
    TENANT_TAG,
    WORKSPACE_TAG,
    MeltanoProject,
    build_definitions,
    cron_schedule_name,
)
from hubspot_gather_orchestration.meltano_run import (
    MeltanoSetup,
    TenantRunError,
    command,
    tenant_env,
)
from hubspot_gather_orchestration.tenants import TenantsFileError, load_tenants
from tests.conftest import ROOT

MELTANO_YML = ROOT / "meltano.yml"
EXAMPLE = ROOT / "orchestration" / "tenants.example.yaml"
SECRET = "pat-na1-do-not-print-me"


def tenant(**fields: Any) -> dict[str, Any]:
    return {
        "id": "acme",
        "secrets": {"target-gather": {"api_key": {"env": "ACME_GATHER_API_KEY"}}},
        **fields,
    }


def load(tmp_path: Path, document: Any) -> list[Any]:
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return load_tenants(path, MELTANO_YML)


def test_the_example_file_is_valid() -> None:
    tenants = load_tenants(EXAMPLE, MELTANO_YML)
    assert [t.id for t in tenants] == ["acme", "globex"]
    globex = tenants[1]
    assert globex.schedule == "30 */2 * * *"
    assert globex.user_id_property == "email"
    assert globex.tap_settings == {"search_lag_seconds": 120, "start_date": "2024-01-01"}
    assert globex.secrets["target-gather"]["api_key"].file == Path(
        "/run/secrets/globex/gather-api-key"
    )


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (tenant(shedule="0 * * * *"), "tenant 'acme', field 'shedule': unknown field"),
        (tenant(id="Acme Corp"), "field 'id': 'Acme Corp' must match"),
        (tenant(schedule="hourly"), "field 'schedule': 'hourly' is not a 5-field cron"),
        (tenant(tap_settings={"page_size": 5}), "'tap_settings.page_size': tap-hubspot-gather"),
        (tenant(target_settings={"ledger_path": "x"}), "set by the orchestrator"),
        (
            tenant(secrets={"tap-hubspot-gather": {"api_url": {"env": "X"}}}),
            "'secrets.tap-hubspot-gather.api_url': not a sensitive setting",
        ),
        (
            tenant(secrets={"target-gather": {"api_key": {"vault": "kv/acme"}}}),
            "must be {env: VAR_NAME} or {file:",
        ),
        ({"schedule": "0 * * * *"}, "tenant #1, field 'id': is required"),
    ],
)
def test_a_bad_entry_names_the_tenant_and_the_field(
    tmp_path: Path, entry: dict[str, Any], problem: str
) -> None:
    with pytest.raises(TenantsFileError, match=r"tenants\.yaml: tenant") as caught:
        load(tmp_path, {"tenants": [entry]})
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    "entry",
    [
        tenant(secrets={"target-gather": {"api_key": SECRET}}),
        tenant(tap_settings={"access_token": SECRET}),
    ],
)
def test_a_secret_written_in_the_file_is_refused_and_never_printed(
    tmp_path: Path, entry: dict[str, Any]
) -> None:
    with pytest.raises(TenantsFileError) as caught:
        load(tmp_path, {"tenants": [entry]})
    message = str(caught.value)
    assert "tenant 'acme'" in message
    assert "{env: VAR_NAME}" in message
    assert SECRET not in message


def test_broken_yaml_is_reported_by_position_without_quoting_the_line(tmp_path: Path) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text(f"tenants:\n  - id: acme\n    token: [{SECRET}\n", encoding="utf-8")
    with pytest.raises(TenantsFileError, match="not valid YAML at line") as caught:
        load_tenants(path, MELTANO_YML)
    assert SECRET not in str(caught.value)


def test_duplicate_ids_and_empty_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TenantsFileError, match="'acme', field 'id': is used by another tenant"):
        load(tmp_path, {"tenants": [tenant(), tenant()]})
    with pytest.raises(TenantsFileError, match="'tenants' list is empty"):
        load(tmp_path, {"tenants": []})
    with pytest.raises(TenantsFileError, match="expected a mapping with a 'tenants' list"):
        load(tmp_path, ["acme"])


def test_the_cli_prints_state_ids_or_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["check", str(EXAMPLE), "--meltano-yml", str(MELTANO_YML)]) == 0
    assert "acme: workspace acme, 0 * * * *, prod:tap-hubspot-gather-to-target-gather:acme" in (
        capsys.readouterr().out
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenants: [{id: acme, schedule: daily}]\n", encoding="utf-8")
    assert cli_main(["check", str(bad), "--meltano-yml", str(MELTANO_YML)]) == 1
    assert "field 'schedule'" in capsys.readouterr().err


def test_a_run_gets_only_its_own_secrets_and_paths_under_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme, globex = load_tenants(EXAMPLE, MELTANO_YML)
    monkeypatch.setenv("ACME_HUBSPOT_ACCESS_TOKEN", "acme-token")
    monkeypatch.setenv("ACME_GATHER_API_KEY", "acme-key")
    monkeypatch.setenv("GLOBEX_HUBSPOT_CLIENT_ID", "globex-client")
    monkeypatch.setenv("TARGET_GATHER_API_KEY", "orchestrator-own-key")
    setup = MeltanoSetup(project_dir=ROOT, data_dir=tmp_path / "data")
    run_dir = setup.tenant_dir("acme") / "runs" / "r1"
    env = tenant_env(acme, setup, run_dir)

    assert env["TAP_HUBSPOT_GATHER_ACCESS_TOKEN"] == "acme-token"
    assert env["TARGET_GATHER_API_KEY"] == "acme-key"
    # Nothing of another tenant, nor the orchestrator's own plugin settings.
    assert "globex-client" not in env.values()
    assert "orchestrator-own-key" not in env.values()
    assert "GLOBEX_HUBSPOT_CLIENT_ID" not in env
    assert env["TAP_HUBSPOT_GATHER_ACCOUNT_ID_PROPERTY"] == "app_account_id"
    assert env["TAP_HUBSPOT_GATHER_SEARCH_LAG_SECONDS"] == "120"
    tenant_dir = tmp_path / "data" / "tenants" / "acme"
    assert env["TARGET_GATHER_LEDGER_PATH"] == str(tenant_dir / "target" / "ledger.sqlite3")
    assert env["TARGET_GATHER_REJECTS_PATH"] == str(tenant_dir / "target" / "rejects.jsonl")
    assert env["TARGET_GATHER_SUMMARY_PATH"] == str(run_dir / "summary.json")
    assert env["MELTANO_SYS_DIR_ROOT"] == str(run_dir / "meltano-sys")
    assert env["MELTANO_DATABASE_URI"] == f"sqlite:///{tenant_dir / 'meltano.db'}"
    assert env["MELTANO_STATE_BACKEND_URI"] == (tmp_path / "data" / "state").as_uri()
    assert env["TARGET_GATHER_LEFT_BEHIND_PATH"] == str(tenant_dir / "target" / "left-behind.jsonl")
    assert env["XDG_STATE_HOME"] == str(run_dir / "xdg-state")  # Meltano's run logs

    argv = command(acme, setup)
    assert "--state-id-suffix=acme" in argv
    assert not any("acme-token" in arg or "acme-key" in arg for arg in argv)

    # A secret whose source is missing fails that tenant's run with where to put it.
    monkeypatch.delenv("GLOBEX_HUBSPOT_CLIENT_ID")
    with pytest.raises(TenantRunError, match="env var GLOBEX_HUBSPOT_CLIENT_ID") as caught:
        tenant_env(globex, setup, tmp_path / "g")
    assert "tenant globex" in str(caught.value)


def test_definitions_partition_tag_schedule_and_limit_each_tenant(tmp_path: Path) -> None:
    tenants = load_tenants(EXAMPLE, MELTANO_YML)
    meltano = MeltanoProject(project_dir=str(ROOT), data_dir=str(tmp_path))
    definitions = build_definitions(tenants, meltano)
    job = definitions.resolve_job_def(JOB_NAME)

    assert job.partitions_def is not None
    assert job.partitions_def.get_partition_keys() == ["acme", "globex"]
    tags = job.partitioned_config.get_tags_for_partition_key("globex")  # type: ignore[union-attr]
    assert tags[TENANT_TAG] == "globex"
    assert tags[WORKSPACE_TAG] == "globex"
    op = job.graph.node_named(OP_NAME).definition
    assert op.pool == SYNC_POOL  # type: ignore[union-attr]
    assert op.retry_policy is not None  # type: ignore[union-attr]
    assert op.retry_policy.backoff == dg.Backoff.EXPONENTIAL  # type: ignore[union-attr]

    schedule = definitions.resolve_schedule_def(cron_schedule_name("30 */2 * * *"))
    tick = datetime(2026, 12, 1, 10, 30, tzinfo=timezone.utc)
    repository = definitions.get_repository_def()
    with dg.build_schedule_context(
        scheduled_execution_time=tick, repository_def=repository
    ) as context:
        requests = list(schedule.evaluate_tick(context).run_requests or [])
    assert [r.partition_key for r in requests] == ["globex"]
    assert requests[0].tags[WORKSPACE_TAG] == "globex"
    hourly = definitions.resolve_schedule_def(cron_schedule_name("0 * * * *"))
    assert hourly.cron_schedule == "0 * * * *"


def test_the_instance_settings_limit_runs_globally_per_workspace_and_per_tenant(
    tmp_path: Path,
) -> None:
    settings = yaml.safe_load((ROOT / "orchestration" / "dagster.yaml").read_text())
    with dg.instance_for_test(overrides=settings, temp_dir=str(tmp_path)) as instance:
        config = instance.get_concurrency_config()
    assert config.pool_config.default_pool_limit == 8
    queue = config.run_queue_config
    assert queue is not None
    assert queue.max_concurrent_runs == 8
    limits = {limit["key"]: limit for limit in queue.tag_concurrency_limits}
    assert limits[WORKSPACE_TAG] == {
        "key": WORKSPACE_TAG,
        "value": {"applyLimitPerUniqueValue": True},
        "limit": 2,
    }
    assert limits[TENANT_TAG]["limit"] == 1


def test_the_run_queue_admits_at_most_two_runs_per_workspace_and_one_per_tenant(
    tmp_path: Path,
) -> None:
    """The queue daemon's own limiter (Dagster's `TagConcurrencyLimitsCounter`, internal) fed
    with our instance settings and the tags our partitions give each run."""
    from dagster._core.storage.dagster_run import DagsterRun
    from dagster._utils.tags import TagConcurrencyLimitsCounter

    entries = [
        {"id": f"t{i}", "gather_workspace": workspace, "secrets": {}}
        for i, workspace in enumerate(["ws-a", "ws-a", "ws-a", "ws-b", "ws-b", "ws-c"])
    ]
    tenants = load(tmp_path, {"tenants": entries})
    meltano = MeltanoProject(project_dir=str(ROOT), data_dir=str(tmp_path))
    job = build_definitions(tenants, meltano).resolve_job_def(JOB_NAME)
    config = job.partitioned_config
    assert config is not None
    queued = [
        DagsterRun(job_name=JOB_NAME, tags=config.get_tags_for_partition_key(t.id)) for t in tenants
    ]
    # A second run of t3 queued too (a schedule tick while t3's last run still goes).
    queued.append(DagsterRun(job_name=JOB_NAME, tags=config.get_tags_for_partition_key("t3")))

    settings = yaml.safe_load((ROOT / "orchestration" / "dagster.yaml").read_text())
    limits = settings["concurrency"]["runs"]["tag_concurrency_limits"]
    counter = TagConcurrencyLimitsCounter(limits, [])
    admitted = []
    for run in queued:
        if not counter.is_blocked(run):
            counter.update_counters_with_launched_item(run)
            admitted.append(run.tags[TENANT_TAG])
    assert admitted == ["t0", "t1", "t3", "t4", "t5"]  # t2: ws-a full; second t3: running


def test_the_documented_retry_waits_are_what_dagster_waits() -> None:
    """README and definitions say 30, 90 and 210 s (+/- 30 s); Dagster's own delay function
    (`RetryPolicy.calculate_delay`, jitter included) must agree, retry by retry."""
    policy = DEFAULT_RETRY_POLICY
    assert policy.max_retries == 3
    plain = dg.RetryPolicy(delay=policy.delay, backoff=policy.backoff)
    assert [plain.calculate_delay(n) for n in (1, 2, 3)] == [30, 90, 210]
    for n, nominal in ((1, 30), (2, 90), (3, 210)):
        waits = [policy.calculate_delay(n) for _ in range(200)]
        assert nominal - RETRY_DELAY_S <= min(waits) < nominal - RETRY_DELAY_S / 2
        assert nominal + RETRY_DELAY_S / 2 < max(waits) <= nominal + RETRY_DELAY_S
    readme = (ROOT / "orchestration" / "README.md").read_text(encoding="utf-8")
    assert "30, 90 and 210 s" in readme
    assert "1, 2, 4 minutes" not in readme
