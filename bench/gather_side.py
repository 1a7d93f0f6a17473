"""Scenarios 5 and 6: the target against a bare poster, and the pipeline through `meltano run`."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

import psutil

from bench import emulator_gather
from bench.common import (
    BIN,
    GATHER_KEY,
    HUBSPOT_TOKEN,
    ROOT,
    admin,
    bar,
    gather_emulator,
    hubspot_emulator,
    quiet_env,
    ratio,
    run_process,
)

CONCURRENCY = 16  # target-gather's default max_concurrency; the bare client uses the same
UNCHANGED_RPS_BAR = 50_000
MEMORY_GROWTH_BAR = 0.30
# Meltano 4.4 buffers up to `elt.buffer_size` (default 100 MiB) of tap output while the target
# lags; the variant run with 2 MiB shows what that default costs (lines up to 1 MiB still fit).
SMALL_ELT_BUFFER = {"MELTANO_ELT_BUFFER_SIZE": str(2 * 1024 * 1024)}
_CITIES = ("Paris", "Lyon", "Berlin", "Tokyo", "Austin", "Lima")
_COUNTRIES = ("France", "Germany", "Japan", "United States", "Peru")
_SCHEMA = {
    "type": "SCHEMA",
    "stream": "contacts",
    "key_properties": ["vid"],
    "schema": {
        "type": "object",
        "properties": {
            name: {"type": ["string", "null"]}
            for name in (
                "vid",
                "id",
                "firstname",
                "lastname",
                "email",
                "city",
                "country",
                "primary_company_id",
                "primary_company_account_id",
            )
        }
        | {"updatedAt": {"type": ["string", "null"], "format": "date-time"}},
    },
}


def _contact(i: int, rng: random.Random) -> dict[str, Any]:
    """A contact as the tap emits it (the fields the target maps to a Gather user)."""
    company = str(1000 + i % 997)
    return {
        "vid": str(100_000 + i),
        "id": str(100_000 + i),
        "firstname": f"First{i}",
        "lastname": f"Last{i}",
        "email": f"user{i}@example.com",
        "city": rng.choice(_CITIES),
        "country": rng.choice(_COUNTRIES),
        "primary_company_id": company,
        "primary_company_account_id": company,
        "updatedAt": "2026-01-01T00:00:00+00:00",
    }


def _payload(contact: dict[str, Any]) -> dict[str, Any]:
    """The flat upsert target-gather sends for this contact (its built-in user mapping)."""
    return {
        "id": contact["vid"],
        "first_name": contact["firstname"],
        "last_name": contact["lastname"],
        "email": contact["email"],
        "city": contact["city"],
        "country": contact["country"],
        "account_id": contact["primary_company_account_id"],
    }


def write_input(records: int, path: Path) -> list[dict[str, Any]]:
    """The Singer input of the target (SCHEMA, RECORDs, a final STATE); returns the contacts."""
    rng = random.Random(11)
    contacts = [_contact(i, rng) for i in range(records)]
    with path.open("w") as out:
        out.write(json.dumps(_SCHEMA) + "\n")
        for contact in contacts:
            out.write(json.dumps({"type": "RECORD", "stream": "contacts", "record": contact}))
            out.write("\n")
        out.write(json.dumps({"type": "STATE", "value": {"bench": records}}) + "\n")
    return contacts


def _run_target(url: str, workdir: Path, input_path: Path, label: str) -> dict[str, Any]:
    config = workdir / "target.config.json"
    summary = workdir / f"{label}.summary.json"
    config.write_text(
        json.dumps(
            {
                "api_url": url,
                "api_key": GATHER_KEY,
                "ledger_path": str(workdir / "ledger.sqlite3"),
                "rejects_path": str(workdir / "rejects.jsonl"),
                "summary_path": str(summary),
                "max_concurrency": CONCURRENCY,
            }
        )
    )
    with input_path.open("rb") as stdin, (workdir / f"{label}.log").open("wb") as err:
        result = run_process(
            [str(BIN / "target-gather"), "--config", str(config)],
            env=quiet_env(),
            stdin=stdin,
            stderr=err,
            cwd=workdir,
        )
    counted = _record_count(input_path)
    stats = admin(url, "GET", "/stats")
    figures: dict[str, Any] = {
        "contender": "target-gather",
        "run": label,
        "exit_code": result.returncode,
        "seconds": round(result.seconds, 3),
        "records_in": counted,
        "records_per_s": round(counted / result.seconds, 1),
        "cpu_s": round(result.cpu_s, 3),
        "cpu_us_per_record": round(result.cpu_s / counted * 1e6, 1) if counted else None,
        "peak_rss_mib": round(result.peak_rss_mib, 1),
        "gather_stats": stats,
    }
    if summary.exists():
        figures["summary"] = json.loads(summary.read_text())
    return figures


def _record_count(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.startswith(b'{"type": "RECORD"'))


def run_target(records: int, workdir: Path) -> dict[str, Any]:
    """Scenario 5: bare concurrent poster, the target, and the target again on unchanged data."""
    input_path = workdir / "target-input.jsonl"
    contacts = write_input(records, input_path)
    bodies = [_payload(c) for c in contacts]
    with gather_emulator(workdir, "gather-bare") as url:
        started = time.perf_counter()
        _, failures = asyncio.run(emulator_gather._load(url, bodies, CONCURRENCY))
        elapsed = time.perf_counter() - started
        bare = {
            "contender": "bare client",
            "seconds": round(elapsed, 3),
            "records_in": len(bodies),
            "records_per_s": round(len(bodies) / elapsed, 1),
            "failures": failures,
            "concurrency": CONCURRENCY,
        }
        sample_bare = admin(url, "GET", "/records/user")
    with gather_emulator(workdir, "gather-target") as url:
        first = _run_target(url, workdir, input_path, "s5-target-first")
        admin(url, "POST", "/stats/reset")
        second = _run_target(url, workdir, input_path, "s5-target-unchanged")
        sample_target = admin(url, "GET", "/records/user")
    return {
        "records": records,
        "bare": bare,
        "target": first,
        "target_unchanged": second,
        "same_traits_as_bare": _trait_names(sample_bare) == _trait_names(sample_target),
    }


def _trait_names(dump: Any) -> list[str]:
    """The trait names of the first stored record (checks both sent the same payload shape)."""
    rows = dump.get("results", dump) if isinstance(dump, dict) else dump
    if not rows:
        return []
    first = rows[0] if isinstance(rows, list) else next(iter(rows.values()))
    traits = first.get("traits", first) if isinstance(first, dict) else {}
    return sorted(k for k in traits if not k.startswith("_"))


def _role(proc: psutil.Process, root: int) -> str | None:
    if proc.pid == root:
        return "meltano"
    try:
        argv = proc.cmdline()[:2]
    except psutil.Error:
        return None
    names = {Path(a).name for a in argv}
    if "tap-hubspot-gather" in names:
        return "tap"
    if "target-gather" in names:
        return "target"
    return None


def run_meltano(
    contacts: int, companies: int, workdir: Path, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Scenario 6: one `meltano run` of the job from an empty state; peak memory per process."""
    run_dir = workdir / ("-".join([f"e2e-{contacts}", *sorted(extra_env or {})]))
    run_dir.mkdir(parents=True, exist_ok=True)
    with (
        hubspot_emulator(contacts, companies, run_dir) as (hubspot_url, _),
        gather_emulator(run_dir, "gather") as gather_url,
    ):
        env = quiet_env(
            TAP_HUBSPOT_GATHER_API_URL=hubspot_url,
            TAP_HUBSPOT_GATHER_ACCESS_TOKEN=HUBSPOT_TOKEN,
            TARGET_GATHER_API_URL=gather_url,
            TARGET_GATHER_API_KEY=GATHER_KEY,
            MELTANO_STATE_BACKEND_URI=(run_dir / "state").as_uri(),
            TARGET_GATHER_LEDGER_PATH=str(run_dir / "ledger.sqlite3"),
            TARGET_GATHER_REJECTS_PATH=str(run_dir / "rejects.jsonl"),
            TARGET_GATHER_SUMMARY_PATH=str(run_dir / "summary.json"),
            **(extra_env or {}),
        )
        command = [str(BIN / "meltano"), "--environment=demo", "run"]
        command += ["tap-hubspot-gather", "target-gather"]
        with (run_dir / "meltano.log").open("wb") as log:
            result = run_process(command, env=env, stdout=log, stderr=log, cwd=ROOT, classify=_role)
        gather_stats = admin(gather_url, "GET", "/stats")
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    out: dict[str, Any] = {
        "contacts": contacts,
        "companies": companies,
        "exit_code": result.returncode,
        "seconds": round(result.seconds, 2),
        "records_per_s": round((contacts + companies) / result.seconds, 1),
        # Records Gather wrote (invalid ones, e.g. without an ID or email, are never sent).
        "gather_writes_per_s": round(_writes(gather_stats) / result.seconds, 1),
        "peak_rss_mib": {k: round(v, 1) for k, v in result.peaks_by_role.items()},
        "gather_stats": gather_stats,
        "target_summary": summary,
    }
    if result.returncode != 0:
        lines = (run_dir / "meltano.log").read_text(errors="replace").splitlines()
        wanted = [line for line in lines if "error" in line.lower() or "Traceback" in line]
        out["error_tail"] = [line[:400] for line in (wanted or lines)[-15:]]
    return out


def _writes(gather_stats: dict[str, Any]) -> int:
    """Records Gather created or updated, over every model."""
    models = gather_stats.get("records") or {}
    return sum(int(v.get("creates", 0)) + int(v.get("updates", 0)) for v in models.values())


def bars(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The benchmark's bars for scenarios 5 and 6."""
    s5, s6 = results["s5"], results["s6"]
    r5 = ratio(s5["target"]["records_per_s"], s5["bare"]["records_per_s"])
    unchanged = s5["target_unchanged"]
    sent = sum(
        int(v.get("total", 0))
        for route, v in unchanged["gather_stats"]["requests"].get("routes", {}).items()
        if not route.startswith("GET")
    )
    out = {
        "5": [
            bar("target records/s >= 70% of the bare client's", r5, 0.7),
            bar("unchanged re-run sends nothing (requests)", sent, 0, "<="),
            bar(
                "unchanged re-run processes >= 50,000 records/s",
                unchanged["records_per_s"],
                UNCHANGED_RPS_BAR,
            ),
        ]
    }
    out["6"] = _growth_bars(s6["runs"], "")
    if s6.get("runs_small_buffer"):
        out["6"] += _growth_bars(s6["runs_small_buffer"], " (elt.buffer_size 2 MiB)")[:1]
    ok = all(r["exit_code"] == 0 for r in [*s6["runs"], *s6.get("runs_small_buffer", [])])
    out["6"].append(bar("every meltano run succeeded", 1 if ok else 0, 1))
    return out


def _growth_bars(runs: list[dict[str, Any]], variant: str) -> list[dict[str, Any]]:
    """Peak memory growth per process from the smallest to the largest run."""
    small, large = runs[0], runs[-1]
    out = []
    for role in ("meltano", "tap", "target"):
        a, b = small["peak_rss_mib"].get(role), large["peak_rss_mib"].get(role)
        value = round(b / a - 1, 3) if a and b else None
        name = (
            f"{role}{variant}: peak memory grows < 30% from {small['contacts']:,}"
            f" to {large['contacts']:,} contacts"
        )
        out.append(bar(name, value, MEMORY_GROWTH_BAR, "<"))
    return out
