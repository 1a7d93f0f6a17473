"""Where an idle tenant run spends its CPU, and how many tenants one core runs per hour.

    .venv/bin/python -m bench.idle_run [--contacts 200] [--changes 100] [--repeats 3]

One tenant (a HubSpot emulator process and a Gather emulator process, not counted) is synced
once; then its *idle* run (nothing changed in HubSpot: the hourly case) is measured whole and
in parts, each part a separate process whose CPU (user + system, its children included) is
read from `getrusage(RUSAGE_CHILDREN)`:

- `meltano run` as the orchestrator starts it (`meltano_run.run_tenant`), whole;
- the same run inside a Dagster run as a deployment's run worker executes it (a fresh process
  loading the code location's module and running the job with the job's own executor on a
  PostgreSQL instance): Dagster's share is everything beyond its `meltano run`;
- the plugins invoked directly with the configuration, catalog and state Meltano gave them:
  interpreter start, plugin start (`--about`: imports), the tap's discovery, the tap's idle
  sync, the target on the tap's idle output; Meltano's own share is the whole run minus them;
- floors: a bare interpreter, `import meltano.cli`, `meltano --version` (CLI start in the
  project), `meltano config print tap-hubspot-gather` (plus one resolution of one plugin's
  settings), `import dagster`, `import dagster, dagster_postgres` (a run worker's imports on
  PostgreSQL storage), `import singer_sdk`, `import aiohttp` (in the target's venv).

Then, `--repeats` times, `--changes` contacts are changed and a busy run measured: `c1`, CPU
per changed record, is the busy runs' median CPU beyond the idle runs' median, per record sent.
Writes `bench/idle_run_results.json` and `.md` (or prints the JSON with `--no-write`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from bench.common import machine
from tests.services.postgres import running_postgres

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS_JSON = Path(__file__).resolve().parent / "idle_run_results.json"
RESULTS_MD = Path(__file__).resolve().parent / "idle_run_results.md"
DAGSTER_YAML = ROOT / "orchestration" / "dagster.yaml"
TAP_VENV = ROOT / ".meltano" / "extractors" / "tap-hubspot-gather" / "venv" / "bin"
TARGET_VENV = ROOT / ".meltano" / "loaders" / "target-gather" / "venv" / "bin"
TOKEN = "bench-idle-hubspot-token"  # noqa: S105 - a throwaway local credential
GATHER_KEY = "bench-idle-gather-key"
TENANT = "idle"
SECRETS = {
    "tap-hubspot-gather": {"access_token": {"env": "BENCH_IDLE_TOKEN"}},
    "target-gather": {"api_key": {"env": "BENCH_IDLE_GATHER_KEY"}},
}
# The share of a core a deployment plans to use: headroom for first syncs and bursts.
UTILISATION = 0.5


def say(text: str) -> None:
    """Progress on stderr."""
    print(f"[bench.idle_run {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    command: Sequence[str],
    env: dict[str, str] | None = None,
    stdin: Path | None = None,
    stdout: Path | None = None,
) -> dict[str, float]:
    """CPU and wall seconds of one child process (and everything it waited for)."""
    before, started = _children_cpu(), time.perf_counter()
    with (
        stdin.open("rb") if stdin else open(os.devnull, "rb") as source,
        stdout.open("wb") if stdout else open(os.devnull, "wb") as sink,
    ):
        subprocess.run(
            list(command), env=env, stdin=source, stdout=sink, stderr=subprocess.DEVNULL,
            check=True, cwd=ROOT,
        )  # fmt: skip
    return {"cpu_s": _children_cpu() - before, "wall_s": time.perf_counter() - started}


def median_of(samples: list[dict[str, float]]) -> dict[str, float]:
    """The median CPU and wall seconds of repeated measurements."""
    return {
        "cpu_s": round(statistics.median(s["cpu_s"] for s in samples), 3),
        "wall_s": round(statistics.median(s["wall_s"] for s in samples), 3),
    }


# A Dagster run as a deployment's run worker executes it: the code location's definitions
# (`hubspot_gather_orchestration.deployment`, configured by its environment variables) loaded
# from their module, the job run with its own executor (`execute_job` on a reconstructable job:
# with a multiprocess executor, a step process per op, as in a deployment), events and run
# records on the PostgreSQL instance.
DAGSTER_RUN = """
import json, resource, sys
import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository
from hubspot_gather_orchestration.deployment import defs
partition = sys.argv[1]
job = defs.resolve_job_def("hubspot_to_gather")
config = dict(job.partitioned_config.get_run_config_for_partition_key(partition))
config["loggers"] = {"console": {"config": {"log_level": "WARNING"}}}
recon = ReconstructableRepository.for_module(
    "hubspot_gather_orchestration.deployment", "defs"
).get_reconstructable_job("hubspot_to_gather")
with dg.DagsterInstance.get() as instance:  # DAGSTER_HOME: PostgreSQL storage, as deployed
    tags = {"dagster/partition": partition}
    with dg.execute_job(recon, instance=instance, run_config=config, tags=tags) as result:
        success = result.success
own = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"success": success, "dagster_cpu_s": own.ru_utime + own.ru_stime}))
"""


def run(contacts: int, changes: int, repeats: int) -> dict[str, Any]:  # noqa: PLR0915 - one linear script
    """Measure an idle tenant run whole and in parts; busy runs for the per-record cost."""
    from emulators.gather.pytest_plugin import GatherProcessFactory
    from emulators.hubspot.pytest_plugin import HubSpotEmulatorProcess
    from hubspot_gather_orchestration.meltano_run import (
        LOCAL_STATE_DIR,
        MeltanoSetup,
        RunOutcome,
        run_tenant,
        tenant_env,
    )
    from hubspot_gather_orchestration.tenants import load_tenants

    load_at_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    work = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    hubspot = HubSpotEmulatorProcess.start("--no-rate-limits")
    gathers = GatherProcessFactory(work)
    stack = ExitStack()
    try:
        hubspot.seed(contacts=contacts, companies=max(1, contacts // 10), seed=3)
        hubspot.add_credentials(tokens=[TOKEN])
        gather = gathers.start(api_keys=[GATHER_KEY])
        os.environ["BENCH_IDLE_TOKEN"] = TOKEN
        os.environ["BENCH_IDLE_GATHER_KEY"] = GATHER_KEY
        tenants_file = work / "tenants.yaml"
        tenants_file.write_text(
            json.dumps(
                {
                    "tenants": [
                        {
                            "id": TENANT,
                            "schedule": "0 * * * *",
                            "meltano_environment": "demo",
                            "account_id_property": "gather_account_id",
                            "user_id_property": "gather_user_id",
                            "secrets": SECRETS,
                            "tap_settings": {"api_url": hubspot.url, "search_lag_seconds": 0},
                            "target_settings": {"api_url": gather.url},
                        }
                    ]
                }
            ),
            encoding="utf-8",
        )
        (tenant,) = load_tenants(tenants_file, ROOT / "meltano.yml")
        setup = MeltanoSetup(ROOT, work / "data", str(BIN / "meltano"))

        say(f"first sync of {contacts} contacts")
        first = run_tenant(tenant, setup, "first")
        assert first.returncode == 0, first.log_tail

        def idle_run(name: str) -> tuple[dict[str, float], RunOutcome]:
            before, started = _children_cpu(), time.perf_counter()
            outcome = run_tenant(tenant, setup, name)
            assert outcome.returncode == 0, outcome.log_tail
            spent = {"cpu_s": _children_cpu() - before, "wall_s": time.perf_counter() - started}
            return spent, outcome

        say(f"idle meltano run x{repeats}")
        idle = [idle_run(f"idle-{i}") for i in range(repeats)]
        whole = median_of([s for s, _ in idle])
        last = idle[-1][1]
        requests = last.hubspot_requests

        say(f"idle run through Dagster x{repeats} (instance on PostgreSQL)")
        pg = stack.enter_context(running_postgres())
        home = work / "dagster-home"
        home.mkdir()
        # The shipped instance settings, on PostgreSQL as deployed.
        instance_yaml = yaml.safe_load(DAGSTER_YAML.read_text(encoding="utf-8"))
        instance_yaml["storage"] = {"postgres": {"postgres_url": pg.create_database("dagster")}}
        (home / "dagster.yaml").write_text(json.dumps(instance_yaml), encoding="utf-8")
        dagster_env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "HUBSPOT_GATHER_TENANTS_FILE": str(tenants_file),
            "HUBSPOT_GATHER_PROJECT_DIR": str(ROOT),
            "HUBSPOT_GATHER_DATA_DIR": str(setup.data_dir),
            "HUBSPOT_GATHER_MELTANO_BIN": str(BIN / "meltano"),
        }
        # The schema is created once, as a deployment's is; not counted.
        subprocess.run(
            [sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get().dispose()"],
            env=dagster_env, check=True, cwd=ROOT,
        )  # fmt: skip
        dagster_samples = []
        for _ in range(repeats):
            before, started = _children_cpu(), time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", DAGSTER_RUN, TENANT],
                capture_output=True, text=True, check=True, cwd=ROOT, env=dagster_env,
            )  # fmt: skip
            report = json.loads(done.stdout.strip().splitlines()[-1])
            assert report["success"], done.stderr[-2000:]
            dagster_samples.append(
                {
                    "cpu_s": _children_cpu() - before,
                    "wall_s": time.perf_counter() - started,
                    "dagster_cpu_s": report["dagster_cpu_s"],
                }
            )
        through_dagster = median_of(dagster_samples)
        dagster_own = round(statistics.median(s["dagster_cpu_s"] for s in dagster_samples), 3)

        say("parts: the plugins invoked directly with what Meltano gave them")
        parts = work / "parts"
        parts.mkdir()
        env = tenant_env(tenant, setup, parts / "run")
        plugin_env = {**env, "PATH": os.environ["PATH"]}
        tap_config = {
            "api_url": hubspot.url,
            "access_token": TOKEN,
            "account_id_property": "gather_account_id",
            "user_id_property": "gather_user_id",
            "search_lag_seconds": 0,
            "include_archived": True,
        }
        (parts / "tap.json").write_text(json.dumps(tap_config), encoding="utf-8")
        target_config = {
            "api_url": gather.url,
            "api_key": GATHER_KEY,
            "ledger_path": str(setup.tenant_dir(TENANT) / "target" / "ledger.sqlite3"),
            "rejects_path": str(parts / "rejects.jsonl"),
            "left_behind_path": str(parts / "left-behind.jsonl"),
        }
        (parts / "target.json").write_text(json.dumps(target_config), encoding="utf-8")
        catalog = last.run_dir / "meltano-sys" / "run" / "tap-hubspot-gather"
        catalog /= "tap.properties.json"
        state_json = next((setup.data_dir / LOCAL_STATE_DIR).rglob("state.json"))
        state = json.loads(state_json.read_text(encoding="utf-8"))
        singer_state = state.get("completed", state).get("singer_state", state)
        (parts / "state.json").write_text(json.dumps(singer_state), encoding="utf-8")
        tap = str(TAP_VENV / "tap-hubspot-gather")
        target = str(TARGET_VENV / "target-gather")
        measured: dict[str, list[dict[str, float]]] = {}
        commands: dict[str, tuple[list[str], Path | None, Path | None]] = {
            "python_start": ([str(TAP_VENV / "python"), "-c", "pass"], None, None),
            "import_singer_sdk": (
                [str(TAP_VENV / "python"), "-c", "import singer_sdk"],
                None,
                None,
            ),
            "import_meltano_cli": ([sys.executable, "-c", "import meltano.cli"], None, None),
            "import_dagster": ([sys.executable, "-c", "import dagster"], None, None),
            # A run worker on PostgreSQL storage also imports the storage classes (SQLAlchemy,
            # Alembic, psycopg2, Dagster's storage and daemon modules).
            "import_dagster_postgres": (
                [sys.executable, "-c", "import dagster, dagster_postgres"],
                None,
                None,
            ),
            # Meltano's CLI start in the project (project file, environment, logging), nothing run.
            "meltano_version": ([str(BIN / "meltano"), "--version"], None, None),
            # ... and one plugin's settings resolved from meltano.yml, the lock file and the env.
            "meltano_config_tap": (
                [
                    str(BIN / "meltano"),
                    f"--environment={tenant.meltano_environment}",
                    "config",
                    "print",
                    "tap-hubspot-gather",
                ],
                None,
                None,
            ),
            "import_aiohttp": ([str(TARGET_VENV / "python"), "-c", "import aiohttp"], None, None),
            "tap_start": ([tap, "--about"], None, None),
            "target_start": ([target, "--about"], None, None),
            "tap_discovery": ([tap, "--config", str(parts / "tap.json"), "--discover"], None, None),
            "tap_idle_sync": (
                [
                    *(tap, "--config", str(parts / "tap.json"), "--catalog", str(catalog)),
                    *("--state", str(parts / "state.json")),
                ],
                None,
                parts / "tap-output.jsonl",
            ),
            "target_idle": (
                [target, "--config", str(parts / "target.json")],
                parts / "tap-output.jsonl",
                None,
            ),
        }
        for _ in range(repeats):
            for name, (command, stdin, stdout) in commands.items():
                measured.setdefault(name, []).append(measure(command, plugin_env, stdin, stdout))
        part = {name: median_of(samples) for name, samples in measured.items()}
        plugins = sum(part[n]["cpu_s"] for n in ("tap_discovery", "tap_idle_sync", "target_idle"))
        breakdown = {
            "meltano_own": round(whole["cpu_s"] - plugins, 3),
            "tap_discovery": part["tap_discovery"]["cpu_s"],
            "tap_idle_sync": part["tap_idle_sync"]["cpu_s"],
            "target_idle": part["target_idle"]["cpu_s"],
            "dagster": dagster_own,
        }
        # Dagster's share: everything the Dagster run cost beyond its `meltano run` (the run
        # process itself and any helper process it starts).
        breakdown["dagster"] = round(through_dagster["cpu_s"] - whole["cpu_s"], 3)
        idle_total = through_dagster["cpu_s"]

        say(f"busy runs x{repeats}: {changes} contacts changed before each")
        busy_samples, sent = [], []
        for i in range(repeats):
            for contact in hubspot.dump("contacts")[:changes]:
                name = f"Changed{i} {contact['id']}"
                hubspot.update("contacts", contact["id"], {"firstname": name})
            spent, outcome = idle_run(f"busy-{i}")
            busy_samples.append(spent)
            sent.append(
                sum(
                    counts.get("updated", 0) + counts.get("created", 0)
                    for counts in outcome.model_counts().values()
                )
            )
        busy = median_of(busy_samples)
        changed = int(statistics.median(sent))
        per_record = max(0.0, busy["cpu_s"] - whole["cpu_s"]) / max(1, changed)
        busy_total = idle_total + per_record * changes
    finally:
        stack.close()
        gathers.stop_all()
        hubspot.stop()
    return {
        "machine": machine(),
        "load_average": load_at_start,
        "contacts": contacts,
        "repeats": repeats,
        "idle_meltano_run": whole,
        "idle_through_dagster": through_dagster,
        "idle_total_cpu_s": idle_total,
        "dagster_run_process_cpu_s": dagster_own,
        "breakdown_cpu_s": breakdown,
        "parts": part,
        "hubspot_requests_idle": requests,
        "busy": {
            "changes": changes,
            "records_sent": changed,
            "run": {k: round(v, 3) for k, v in busy.items()},
            "cpu_per_changed_record_ms": round(per_record * 1000, 3),
            "total_cpu_s": round(busy_total, 3),
        },
        "tenants_per_core_hour": {
            "idle": round(3600 / idle_total),
            f"busy_{changes}": round(3600 / busy_total),
        },
    }


FLOORS = (
    "python_start",
    "import_singer_sdk",
    "tap_start",
    "target_start",
    "import_meltano_cli",
    "meltano_version",
    "meltano_config_tap",
    "import_dagster",
    "import_dagster_postgres",
    "import_aiohttp",
)


def markdown(result: dict[str, Any]) -> str:
    """The figures as the Markdown table the orchestration README quotes."""
    b = result["breakdown_cpu_s"]
    p = result["parts"]
    c0 = result["idle_total_cpu_s"]
    c1 = result["busy"]["cpu_per_changed_record_ms"]
    rows = [
        ("Meltano's own (CLI, project, settings, state, relaying)", b["meltano_own"]),
        ("tap: discovery (a process: start, imports, properties API)", b["tap_discovery"]),
        ("tap: idle sync (a process: start, imports, HubSpot requests)", b["tap_idle_sync"]),
        ("target: idle (a process: start, imports, ledger)", b["target_idle"]),
        (
            "Dagster (run worker: import, storage, definitions, events to PostgreSQL; its own "
            f"CPU {result['dagster_run_process_cpu_s']:.2f})",
            b["dagster"],
        ),
    ]
    lines = [
        f"Idle tenant run, {result['contacts']} contacts synced before, median of "
        f"{result['repeats']} (`python -m bench.idle_run`; {result['machine']['cores']} cores, "
        f"load average {result['load_average']} at the start):",
        "",
        "| part | CPU s |",
        "|---|---|",
        *(f"| {name} | {value:.2f} |" for name, value in rows),
        f"| **idle run in all** (`meltano run` {result['idle_meltano_run']['cpu_s']:.2f} + "
        f"Dagster {b['dagster']:.2f}) | **{c0:.2f}** |",
        "",
        "Floors (each a bare process): "
        + ", ".join(f"{name} {p[name]['cpu_s']:.2f} s" for name in FLOORS)
        + f". HubSpot requests per idle run: {result['hubspot_requests_idle']}.",
        "",
        f"Busy: {result['busy']['changes']} contacts changed, {result['busy']['records_sent']} "
        f"records sent: c1 = {c1:.2f} ms CPU per changed record.",
        "",
        "| tenant | CPU s per run | tenants per core-hour (100 %) | at 50 % utilisation |",
        "|---|---|---|---|",
        f"| idle | {c0:.2f} | {3600 / c0:.0f} | {3600 * UTILISATION / c0:.0f} |",
        f"| busy ({result['busy']['changes']} changes) | {result['busy']['total_cpu_s']:.2f} | "
        f"{3600 / result['busy']['total_cpu_s']:.0f} | "
        f"{3600 * UTILISATION / result['busy']['total_cpu_s']:.0f} |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and write (or print) the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.contacts, args.changes, args.repeats)
    if args.no_write:
        print(json.dumps(result, indent=2))
    else:
        RESULTS_JSON.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        RESULTS_MD.write_text(markdown(result), encoding="utf-8")
        print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
