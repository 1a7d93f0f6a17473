"""Many small tenants through Dagster against the same tenants one after another with plain
`meltano run`: total wall time, per-run overhead and the concurrency Dagster achieved.

    .venv/bin/python -m bench.orchestration [--tenants 20] [--contacts 2000] [--slots 3]

One HubSpot emulator process (every tenant reads the same seeded portal with its own token)
and one Gather emulator process with a workspace per tenant and pass, so every pass starts
with empty workspaces and each tenant's first sync creates every record. Passes:

1. sequential: each tenant's first sync with plain `meltano run` (the same command, env and
   isolated folders the orchestrator uses), one after another (the reference);
2. dagster: the same tenants' first syncs as runs of the Dagster job, each run in its own
   process (as Dagster's default run launcher does), at most `--slots` syncs at once through
   the job's pool;
3. dagster, incremental: every tenant again with nothing changed, the hourly case: its run
   time is the fixed per-run cost (Dagster + Meltano start-up, discovery, state).

Writes `bench/orchestration_results.json` and `bench/orchestration_results.md` (or only prints
the JSON with `--no-write`).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from bench.common import machine
from emulators.common.process import running_emulator

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS_JSON = Path(__file__).resolve().parent / "orchestration_results.json"
RESULTS_MD = Path(__file__).resolve().parent / "orchestration_results.md"
COMPANIES_PER_CONTACTS = 10  # one company per ten contacts, like the other benchmarks


def say(text: str) -> None:
    """Progress on stderr."""
    print(f"[bench.orchestration {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def write_tenants(path: Path, count: int, prefix: str, hubspot_url: str, gather_url: str) -> None:
    """`count` tenants named `<prefix>-<i>`, each its own token and Gather workspace."""
    tenants = [
        {
            "id": f"{prefix}-{i:03d}",
            "gather_workspace": f"{prefix}-{i:03d}",
            "account_id_property": "gather_account_id",
            "user_id_property": "gather_user_id",
            "secrets": {
                "tap-hubspot-gather": {"access_token": {"env": f"BENCH_TOKEN_{i}"}},
                "target-gather": {"api_key": {"env": f"BENCH_{prefix.upper()}_KEY_{i}"}},
            },
        }
        for i in range(count)
    ]
    document = {
        "defaults": {
            "meltano_environment": "demo",
            "schedule": None,
            "tap_settings": {"api_url": hubspot_url, "search_lag_seconds": 0},
            "target_settings": {"api_url": gather_url},
        },
        "tenants": tenants,
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _dagster_run(
    tenants_file: str, data_dir: str, instance_ref: Any, tenant_id: str
) -> dict[str, Any]:
    """One Dagster run in this (fresh worker) process: its wall time, CPU seconds (this
    process, Dagster's import included, and the `meltano run` it waited for) and the sync's
    metadata."""
    cpu_before = _cpu_seconds()
    started = time.time()
    import dagster as dg

    from hubspot_gather_orchestration.definitions import MeltanoProject, build_definitions
    from hubspot_gather_orchestration.tenants import load_tenants

    instance = dg.DagsterInstance.from_ref(instance_ref)
    meltano = MeltanoProject(
        project_dir=str(ROOT), data_dir=data_dir, meltano_bin=str(BIN / "meltano")
    )
    tenants = load_tenants(Path(tenants_file), ROOT / "meltano.yml")
    job = build_definitions(tenants, meltano, dg.RetryPolicy(max_retries=0)).resolve_job_def(
        "hubspot_to_gather"
    )
    result = job.execute_in_process(
        partition_key=tenant_id, instance=instance, raise_on_error=False
    )
    metadata: dict[str, Any] = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_OUTPUT:
            metadata = {k: v.value for k, v in event.step_output_data.metadata.items()}
    return {
        "tenant": tenant_id,
        "success": result.success,
        "started_at": started,
        "finished_at": time.time(),
        "cpu_s": _cpu_seconds() - cpu_before,
        "meltano_started_at": metadata.get("started_at"),
        "meltano_finished_at": metadata.get("finished_at"),
        "users_created": metadata.get("user.created", 0),
        "users_records": metadata.get("user.records", 0),
    }


def _cpu_seconds() -> float:
    """User + system CPU of this process and of the children it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _dagster_pass(
    tenants_file: Path, data_dir: Path, instance: Any, ids: list[str], slots: int
) -> dict[str, Any]:
    from hubspot_gather_orchestration.definitions import SYNC_POOL

    instance.event_log_storage.set_concurrency_slots(SYNC_POOL, slots)
    context = multiprocessing.get_context("spawn")
    started = time.time()
    # One worker per slot, a fresh process per run, as Dagster's default run launcher does.
    with ProcessPoolExecutor(max_workers=slots, mp_context=context, max_tasks_per_child=1) as pool:
        futures = [
            pool.submit(_dagster_run, str(tenants_file), str(data_dir), instance.get_ref(), t)
            for t in ids
        ]
        runs = [f.result() for f in futures]
    wall = time.time() - started
    return summarize(runs, wall)


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant."""
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    current = peak = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def summarize(runs: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    """Totals, per-run means and the achieved concurrency of one pass."""
    ok = [r for r in runs if r["success"]]
    meltano = [r["meltano_finished_at"] - r["meltano_started_at"] for r in ok]
    whole = [r["finished_at"] - r["started_at"] for r in ok]
    overhead = [w - m for w, m in zip(whole, meltano, strict=True)]
    intervals = [(r["meltano_started_at"], r["meltano_finished_at"]) for r in ok]
    return {
        "runs": len(runs),
        "failed": len(runs) - len(ok),
        "wall_s": round(wall, 2),
        "meltano_run_mean_s": round(statistics.mean(meltano), 2) if meltano else None,
        "run_mean_s": round(statistics.mean(whole), 2) if whole else None,
        "dagster_overhead_mean_s": round(statistics.mean(overhead), 2) if overhead else None,
        "cpu_per_run_mean_s": round(statistics.mean(r["cpu_s"] for r in ok), 2) if ok else None,
        "mean_concurrency": round(sum(meltano) / wall, 2) if wall else None,
        "max_concurrency": max_overlap(intervals) if intervals else 0,
        "users_created": sum(r.get("users_created", 0) for r in ok),
        "users_records": sum(r.get("users_records", 0) for r in ok),
    }


def _sequential_pass(tenants_file: Path, data_dir: Path) -> dict[str, Any]:
    from hubspot_gather_orchestration.meltano_run import MeltanoSetup, run_tenant
    from hubspot_gather_orchestration.tenants import load_tenants

    setup = MeltanoSetup(project_dir=ROOT, data_dir=data_dir, meltano_bin=str(BIN / "meltano"))
    runs = []
    started = time.time()
    for tenant in load_tenants(tenants_file, ROOT / "meltano.yml"):
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        outcome = run_tenant(tenant, setup, "sequential")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
        users = outcome.model_counts().get("user", {})
        runs.append(
            {
                "tenant": tenant.id,
                "success": outcome.returncode == 0,
                "started_at": outcome.started_at,
                "finished_at": outcome.finished_at,
                "cpu_s": cpu,
                "meltano_started_at": outcome.started_at,
                "meltano_finished_at": outcome.finished_at,
                "users_created": users.get("created", 0),
                "users_records": users.get("records", 0),
            }
        )
    return summarize(runs, time.time() - started)


def run(tenants: int, contacts: int, slots: int) -> dict[str, Any]:
    """All three passes; the JSON result."""
    import dagster as dg

    (ROOT / ".cache").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-orchestration-", dir=ROOT / ".cache"))
    load_before = os.getloadavg()
    (workdir / "dagster").mkdir()
    tokens = [f"bench-token-{i}" for i in range(tenants)]
    workspaces = [f"{p}-{i:03d}:bench-{p}-key-{i}" for p in ("seq", "dag") for i in range(tenants)]
    for i, token in enumerate(tokens):
        os.environ[f"BENCH_TOKEN_{i}"] = token
        for prefix in ("seq", "dag"):
            os.environ[f"BENCH_{prefix.upper()}_KEY_{i}"] = f"bench-{prefix}-key-{i}"
    hubspot_args = [
        "--no-rate-limits",
        "--seed-contacts",
        str(contacts),
        "--seed-companies",
        str(max(1, contacts // COMPANIES_PER_CONTACTS)),
    ]
    with (
        running_emulator(
            "hubspot",
            hubspot_args,
            log_path=workdir / "hubspot.log",
            env={"HUBSPOT_EMULATOR_TOKENS": ",".join(tokens)},
        ) as hubspot,
        running_emulator(
            "gather",
            ["--data-dir", str(workdir / "gather")],
            log_path=workdir / "gather.log",
            env={"GATHER_EMULATOR_WORKSPACES": ",".join(workspaces)},
        ) as gather,
        dg.instance_for_test(temp_dir=str(workdir / "dagster")) as instance,
    ):
        for prefix in ("seq", "dag"):
            write_tenants(workdir / f"{prefix}.yaml", tenants, prefix, hubspot.url, gather.url)
        ids = [f"dag-{i:03d}" for i in range(tenants)]
        say(f"sequential: {tenants} tenants x {contacts} contacts with plain meltano run")
        sequential = _sequential_pass(workdir / "seq.yaml", workdir / "seq-data")
        say(f"sequential: {sequential}")
        say(f"dagster: the same through the job, {slots} slots")
        first = _dagster_pass(workdir / "dag.yaml", workdir / "dag-data", instance, ids, slots)
        say(f"dagster: {first}")
        say("dagster, incremental with nothing changed")
        again = _dagster_pass(workdir / "dag.yaml", workdir / "dag-data", instance, ids, slots)
        say(f"dagster incremental: {again}")
    shutil.rmtree(workdir, ignore_errors=True)  # kept when a pass failed, for its logs
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "tenants": tenants,
        "contacts_per_tenant": contacts,
        "slots": slots,
        "sequential_meltano_run": sequential,
        "dagster_first_sync": first,
        "dagster_incremental_unchanged": again,
        "speedup": round(sequential["wall_s"] / first["wall_s"], 2) if first["wall_s"] else None,
    }


def markdown(result: dict[str, Any]) -> str:
    """The result as a short table."""
    rows = [
        ("plain `meltano run`, one after another", result["sequential_meltano_run"]),
        (f"Dagster job, {result['slots']} slots", result["dagster_first_sync"]),
        ("Dagster job, incremental, nothing changed", result["dagster_incremental_unchanged"]),
    ]
    lines = [
        "# Orchestration benchmark",
        "",
        f"{result['date']}, {result['machine']['cores']} cores ({result['machine']['cpu']}), "
        f"load average {', '.join(f'{x:.1f}' for x in result['load_average_before'])} before, "
        f"{', '.join(f'{x:.1f}' for x in result['load_average_after'])} after. "
        f"{result['tenants']} tenants x {result['contacts_per_tenant']:,} contacts "
        f"(+{result['contacts_per_tenant'] // COMPANIES_PER_CONTACTS:,} companies) each; "
        "`.venv/bin/python -m bench.orchestration`.",
        "",
        "| pass | wall s | per run s (meltano) | Dagster overhead per run s | CPU s per run "
        "| mean / max runs at once | users written |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, data in rows:
        overhead = data["dagster_overhead_mean_s"] if "Dagster" in name else "-"
        lines.append(
            f"| {name} | {data['wall_s']} | {data['meltano_run_mean_s']} | {overhead} | "
            f"{data['cpu_per_run_mean_s']} | {data['mean_concurrency']} / "
            f"{data['max_concurrency']} | {data['users_created']} |"
        )
    lines += ["", f"Speed-up of the first syncs through Dagster: {result['speedup']}x.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write (or print) its result."""
    parser = argparse.ArgumentParser(prog="python -m bench.orchestration", description=__doc__)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--slots", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.tenants, args.contacts, args.slots)
    text = json.dumps(result, indent=2)
    if args.no_write:
        print(text)
        return 0
    RESULTS_JSON.write_text(text + "\n", encoding="utf-8")
    RESULTS_MD.write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
