"""Shared machinery of the benchmark scenarios: processes, peak memory, emulators, admin calls.

CPU time of a process we start comes from the kernel (`wait4`); peak memory of it and of the
processes it starts (the tap and target under `meltano run`) is sampled with psutil.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import psutil

from bench import emulator_gather, emulator_hubspot
from emulators.common.process import stop_process

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CACHE = ROOT / ".cache" / "bench"
HUBSPOT_TOKEN = emulator_hubspot.TOKEN
GATHER_KEY = emulator_gather.KEY
ADMIN = "/_emulator"
SAMPLE_INTERVAL_S = 0.05  # psutil RSS sampling period for grandchildren
MIB = 1024 * 1024
# The role of the started process itself. Its peak RSS is sampled, not read from `ru_maxrss`:
# a forked child inherits the parent's RSS high-water mark across exec (this bench's ~80 MiB).
ROOT_ROLE = "process"


@dataclass
class ProcResult:
    """What one finished (or timed-out) process cost."""

    returncode: int | None
    seconds: float
    cpu_s: float
    peak_rss_mib: float
    timed_out: bool
    peaks_by_role: dict[str, float] = field(default_factory=dict)


class _TreeSampler(threading.Thread):
    """Samples RSS of a process tree, keeping the peak per role (named by `classify`)."""

    def __init__(self, pid: int, classify: Callable[[psutil.Process, int], str | None]) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.classify = classify
        self.peaks: dict[str, float] = {}
        self._halt = threading.Event()
        self._roles: dict[int, str] = {}

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._halt.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in procs:
                try:
                    # A child seen between fork and exec still shows its parent's command
                    # line: only a role found is kept, an unnamed process is asked again.
                    role = self._roles.get(proc.pid) or self.classify(proc, self.pid)
                    if role is None:
                        continue
                    self._roles[proc.pid] = role
                    rss = proc.memory_info().rss / MIB
                except psutil.Error:
                    continue
                self.peaks[role] = max(self.peaks.get(role, 0.0), rss)
            self._halt.wait(SAMPLE_INTERVAL_S)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def run_process(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin: IO[Any] | int | None = None,
    stdout: IO[Any] | int | None = subprocess.DEVNULL,
    stderr: IO[Any] | int | None = None,
    cwd: Path | None = None,
    timeout_s: float | None = None,
    classify: Callable[[psutil.Process, int], str | None] | None = None,
) -> ProcResult:
    """Run a command to completion (or kill its group at the timeout) and measure it.

    CPU comes from `wait4`; peak RSS is sampled for the process itself and, with `classify`,
    for every process in its tree, per role.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(command),
        env=dict(env) if env is not None else None,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        cwd=cwd,
        start_new_session=True,
    )
    sampler = _TreeSampler(proc.pid, classify or _root_only)
    sampler.start()
    deadline = None if timeout_s is None else started + timeout_s
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.perf_counter() > deadline:
            timed_out = True
            _kill_group(proc.pid)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop()
    if timed_out:
        _kill_group(proc.pid)  # leftovers of the group (e.g. meltano's children)
    return ProcResult(
        returncode=proc.returncode,
        seconds=elapsed,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=sampler.peaks.get(ROOT_ROLE, 0.0),
        timed_out=timed_out,
        peaks_by_role=dict(sampler.peaks),
    )


def _root_only(proc: psutil.Process, root: int) -> str | None:
    return ROOT_ROLE if proc.pid == root else None


def _kill_group(pid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def admin(url: str, method: str, path: str, body: Any = None, timeout: float = 300) -> Any:
    """Call an emulator's admin API (loopback, no auth) and decode its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback URL of an emulator we started
        url + ADMIN + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read() or b"null")


def route_counts(url: str) -> dict[str, int]:
    """Requests per route template (all statuses) from the HubSpot emulator's stats."""
    stats = admin(url, "GET", "/stats")
    return {route: int(v["total"]) for route, v in stats.get("routes", {}).items()}


def status_counts(url: str) -> dict[str, int]:
    """Responses per HTTP status over all routes."""
    totals: dict[str, int] = {}
    for value in admin(url, "GET", "/stats").get("routes", {}).values():
        for status, count in value.get("by_status", {}).items():
            totals[status] = totals.get(status, 0) + int(count)
    return totals


@contextmanager
def hubspot_emulator(contacts: int, companies: int, workdir: Path) -> Iterator[tuple[str, float]]:
    """A seeded HubSpot emulator without rate limits; yields its URL and start-up seconds."""
    process, url, startup = emulator_hubspot.start_emulator(
        contacts, companies, workdir / f"hubspot-{contacts}.log"
    )
    try:
        yield url, startup
    finally:
        stop_process(process)


@contextmanager
def gather_emulator(workdir: Path, name: str) -> Iterator[str]:
    """A Gather emulator on SQLite WAL in `workdir/name`; yields its URL."""
    process, url = emulator_gather.start_emulator(workdir / name, workdir / f"{name}.log")
    try:
        yield url
    finally:
        stop_process(process)


def machine() -> dict[str, Any]:
    """CPU model, cores, memory and Python of this machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def quiet_env(**extra: str) -> dict[str, str]:
    """The environment for plugins and meltano: nothing written outside the checkout."""
    xdg = CACHE / "xdg"
    return {
        **os.environ,
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "XDG_CACHE_HOME": str(xdg / "cache"),
        "XDG_STATE_HOME": str(xdg / "state"),
        "XDG_CONFIG_HOME": str(xdg / "config"),
        "XDG_DATA_HOME": str(xdg / "data"),
        "UV_CACHE_DIR": str(ROOT / ".cache" / "uv"),
        **extra,
    }


def sdk_record_counts(log: str) -> dict[str, int]:
    """Records per stream from the singer-sdk `record_count` METRIC lines of a tap's log."""
    return {k: int(v) for k, v in _sdk_metric(log, "record_count").items()}


def sdk_sync_seconds(log: str) -> float:
    """Seconds the streams spent syncing (singer-sdk `sync_duration` timers): no start-up."""
    return round(sum(_sdk_metric(log, "sync_duration").values()), 3)


def _sdk_metric(log: str, name: str) -> dict[str, float]:
    """Sum of one singer-sdk METRIC's values per stream (counters log deltas)."""
    totals: dict[str, float] = {}
    needle = f'"metric":"{name}"'
    for line in log.splitlines():
        marker = line.find("METRIC: ")
        if marker < 0 or needle not in line.replace(" ", ""):
            continue
        try:
            metric = json.loads(line[marker + len("METRIC: ") :])
        except json.JSONDecodeError:
            continue
        stream = str(metric.get("tags", {}).get("stream"))
        totals[stream] = totals.get(stream, 0.0) + float(metric.get("value", 0))
    return totals


def ratio(value: float | None, reference: float | None) -> float | None:
    """value / reference, rounded; None when either is missing or the reference is zero."""
    if value is None or not reference:
        return None
    return round(value / reference, 3)


def bar(name: str, value: float | None, threshold: float, op: str = ">=") -> dict[str, Any]:
    """One of the benchmark's bars: its value against the threshold, and whether it is met."""
    if value is None:
        met = False
    elif op == ">=":
        met = value >= threshold
    elif op == "<":
        met = value < threshold
    else:
        met = value <= threshold
    return {"bar": name, "value": value, "threshold": threshold, "op": op, "met": met}


Sizes = TypeVar("Sizes")


def scenario_main(
    argv: list[str] | None,
    *,
    module: str,
    label: str,
    sizes: Callable[[bool], Sizes],
    run: Callable[[Sizes, Path], dict[str, Any]],
    bars: Callable[[dict[str, Any]], dict[str, list[dict[str, Any]]]],
) -> int:
    """`python -m bench.<module> [--smoke]`: one scenario alone (`sizes(smoke)`), its JSON with
    its bars on stdout."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{module}")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds long")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix=f"bench-{label}-") as tmp:
        result = run(sizes(args.smoke), Path(tmp))
    result["bars"] = bars(result)
    sys.stdout.write(json.dumps(result, indent=1) + "\n")
    return 0
