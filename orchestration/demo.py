"""`make orchestrate-demo`: three tenants through the Dagster job against local emulators.

Starts three HubSpot emulators (one portal per tenant, each keyed differently) and one Gather
emulator with a workspace per tenant, writes a tenants file, runs every tenant once through
the Dagster job (recorded in a Dagster instance under the output folder), prints what each
run did, and then, with ``UI=1``, serves the Dagster UI on those same definitions and history
until Ctrl-C. Everything stays under ``output/orchestration-demo/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import ExitStack, suppress
from pathlib import Path

import dagster as dg
import yaml

from emulators.common.process import running_emulator
from hubspot_gather_orchestration.definitions import JOB_NAME, MeltanoProject, build_definitions
from hubspot_gather_orchestration.tenants import load_tenants

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OUT = ROOT / "output" / "orchestration-demo"
UI_PORT = os.environ.get("DAGSTER_PORT", "3000")
# id, account ID property, user ID property, contacts
TENANTS = (
    ("acme", "gather_account_id", "gather_user_id", 300),
    ("globex", "companyId", "vid", 200),
    ("initech", "companyId", "email", 100),
)


# Dagster logs every event of a run at DEBUG (14 lines per tenant); the table below says it all.
QUIET_LOGGERS = {"console": {"config": {"log_level": "WARNING"}}}
COLUMNS = ("tenant", "status", "records", "sent", "requests", "seconds")


def run_quietly(
    job: dg.JobDefinition, tenant_id: str, instance: dg.DagsterInstance
) -> dict[str, str]:
    """Run one tenant's partition with Dagster's console log at WARNING; one table row."""
    assert job.partitioned_config is not None
    run_config = dict(job.partitioned_config.get_run_config_for_partition_key(tenant_id))
    run_config["loggers"] = QUIET_LOGGERS
    result = job.execute_in_process(
        run_config=run_config, partition_key=tenant_id, instance=instance, raise_on_error=False
    )
    metadata: dict[str, object] = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_OUTPUT:
            metadata = {k: v.value for k, v in event.step_output_data.metadata.items()}
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data.user_failure_data
            if data is not None:
                metadata = {k: v.value for k, v in data.metadata.items()}
    counts = {k: v for k, v in metadata.items() if "." in k and isinstance(v, int)}
    records = sum(v for k, v in counts.items() if k.endswith(".records"))
    sent = sum(v for k, v in counts.items() if k.endswith((".created", ".updated", ".deleted")))
    status = "ok" if result.success else f"FAILED ({metadata.get('failure_kind', 'unknown')})"
    return {
        "tenant": tenant_id,
        "status": status,
        "records": str(records),
        "sent": str(sent),
        "requests": str(metadata.get("hubspot_requests", "-")),
        "seconds": f"{float(str(metadata.get('duration_s', 0.0))):.1f}",
    }


def results_table(rows: list[dict[str, str]]) -> str:
    """The rows as an aligned text table (numbers right-aligned)."""
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in COLUMNS}
    numeric = {"records", "sent", "requests", "seconds"}

    def line(values: dict[str, str]) -> str:
        cells = [
            values[c].rjust(widths[c]) if c in numeric else values[c].ljust(widths[c])
            for c in COLUMNS
        ]
        return "  ".join(cells).rstrip()

    header = line({c: c for c in COLUMNS})
    return "\n".join([header, "-" * len(header), *(line(r) for r in rows)])


def main() -> int:
    """Run the demo; 0 when every tenant synced."""
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    home = OUT / "dagster-home"
    home.mkdir()
    shutil.copy(ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    with ExitStack() as stack:
        entries = []
        for tenant_id, account_prop, user_prop, contacts in TENANTS:
            token = f"demo-{tenant_id}-hubspot-token"
            hubspot = stack.enter_context(
                running_emulator(
                    "hubspot",
                    [
                        "--no-rate-limits",
                        f"--seed-contacts={contacts}",
                        f"--seed-companies={contacts // 10}",
                    ],
                    log_path=OUT / f"hubspot-{tenant_id}.log",
                    env={"HUBSPOT_EMULATOR_TOKENS": token},
                )
            )
            os.environ[f"{tenant_id.upper()}_HUBSPOT_TOKEN"] = token
            os.environ[f"{tenant_id.upper()}_GATHER_KEY"] = f"demo-{tenant_id}-gather-key"
            entries.append(
                {
                    "id": tenant_id,
                    "account_id_property": account_prop,
                    "user_id_property": user_prop,
                    "secrets": {
                        "tap-hubspot-gather": {
                            "access_token": {"env": f"{tenant_id.upper()}_HUBSPOT_TOKEN"}
                        },
                        "target-gather": {"api_key": {"env": f"{tenant_id.upper()}_GATHER_KEY"}},
                    },
                    "tap_settings": {"api_url": hubspot.url},
                }
            )
        workspaces = ",".join(f"{t[0]}:demo-{t[0]}-gather-key" for t in TENANTS)
        gather = stack.enter_context(
            running_emulator(
                "gather",
                ["--data-dir", str(OUT / "gather")],
                log_path=OUT / "gather.log",
                env={"GATHER_EMULATOR_WORKSPACES": workspaces},
            )
        )
        tenants_file = OUT / "tenants.yaml"
        document = {
            "defaults": {
                "meltano_environment": "demo",
                "schedule": "0 * * * *",
                "tap_settings": {"search_lag_seconds": 0},
                "target_settings": {"api_url": gather.url},
            },
            "tenants": entries,
        }
        tenants_file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        data_dir = OUT / "data"
        meltano = MeltanoProject(
            project_dir=str(ROOT), data_dir=str(data_dir), meltano_bin=str(BIN / "meltano")
        )
        tenants = load_tenants(tenants_file, ROOT / "meltano.yml")
        job = build_definitions(tenants, meltano).resolve_job_def(JOB_NAME)
        rows = []
        with dg.DagsterInstance.get() as instance:
            for tenant in tenants:
                print(f"tenant {tenant.id}: running the Dagster job ...", flush=True)
                rows.append(run_quietly(job, tenant.id, instance))
        print()
        print(results_table(rows))
        failures = sum(row["status"] != "ok" for row in rows)
        print(f"\nEach tenant's files: {data_dir / 'tenants'}/<tenant>/ (ledger, rejects, runs)")
        print(f"Meltano state (one state ID per tenant): {data_dir / 'state'}")
        print(f"Dagster history: DAGSTER_HOME={home}")
        ui_env = {
            **os.environ,
            "HUBSPOT_GATHER_TENANTS_FILE": str(tenants_file),
            "HUBSPOT_GATHER_PROJECT_DIR": str(ROOT),
            "HUBSPOT_GATHER_DATA_DIR": str(data_dir),
            "HUBSPOT_GATHER_MELTANO_BIN": str(BIN / "meltano"),
        }
        if os.environ.get("UI") == "1":
            print(f"\nDagster UI: http://127.0.0.1:{UI_PORT} (job {JOB_NAME}; Ctrl-C stops it)")
            print("  Runs -> filter by tag tenant=...; Assets -> hubspot_gather_sync per tenant")
            command = [str(BIN / "dagster"), "dev", "-m", "hubspot_gather_orchestration.deployment"]
            command += ["-h", "127.0.0.1", "-p", UI_PORT]
            with suppress(KeyboardInterrupt):
                subprocess.run(command, cwd=OUT, env=ui_env, check=False)  # noqa: S603
        else:
            print("\nTo browse these runs in the Dagster UI: make orchestrate-demo UI=1")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
