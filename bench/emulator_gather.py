"""How many record POSTs per second the Gather emulator sustains.

    .venv/bin/python -m bench.emulator_gather [--records N] [--concurrency C] [--in-memory]

Starts ``gather-emulator`` as a subprocess on a temp data dir (SQLite WAL, one commit per
request, as in tests and the demo), then a bare load generator (aiohttp client, C
concurrent workers on keep-alive connections) creates N user records and updates a tenth of
them. Prints one JSON line: throughput, latency percentiles, the emulator's CPU seconds per
1,000 requests (comparable across machines and loads) and its resident memory at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from emulators.common.process import start_emulator as start_process

KEY = "bench-key"
WARMUP_REQUESTS = 200
UPDATE_SHARE = 10  # one update per this many creates, like a re-sync touching some records


def _user(i: int) -> dict[str, Any]:
    return {
        "id": f"user-{i}",
        "first_name": f"First{i}",
        "last_name": f"Last{i}",
        "email": f"user{i}@example.com",
        "account_id": f"acct-{i % 997}",
        "city": "Paris",
        "country": "France",
        "hubspot_vid": i,
    }


def start_emulator(data_dir: Path | None, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start the emulator and return the process and its base URL."""
    args = ["--in-memory"] if data_dir is None else ["--data-dir", str(data_dir)]
    emulator = start_process("gather", args, log_path=log, env={"GATHER_EMULATOR_API_KEYS": KEY})
    return emulator.process, emulator.url


async def _load(
    url: str, bodies: list[dict[str, Any]], concurrency: int
) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Authorization": f"Token {KEY}"}
    target = f"{url}/models/user/records"
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                async with session.post(target, json=body) as response:
                    await response.read()
                    if response.status not in (200, 201):
                        failures += 1
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failures


def _rss_mib(pid: int) -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    return round(float(psutil.Process(pid).memory_info().rss) / 2**20, 1)


def _cpu_seconds(pid: int) -> float | None:
    try:
        import psutil
    except ImportError:  # psutil is in the dev env; the figure is optional elsewhere
        return None
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def run(records: int, concurrency: int, in_memory: bool = False) -> dict[str, Any]:
    """Run the benchmark and return its figures."""
    with tempfile.TemporaryDirectory(prefix="bench-gather-") as tmp:
        root = Path(tmp)
        process, url = start_emulator(None if in_memory else root / "data", root / "emulator.log")
        try:
            warmup = [_user(-i) for i in range(1, WARMUP_REQUESTS + 1)]
            asyncio.run(_load(url, warmup, concurrency))
            bodies = [_user(i) for i in range(records)]
            bodies += [{"id": f"user-{i}", "city": "Lyon"} for i in range(0, records, UPDATE_SHARE)]
            cpu_before = _cpu_seconds(process.pid)
            started = time.perf_counter()
            latencies, failures = asyncio.run(_load(url, bodies, concurrency))
            elapsed = time.perf_counter() - started
            cpu_after = _cpu_seconds(process.pid)
            rss = _rss_mib(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=10)
    latencies.sort()
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return {
        "benchmark": "emulator_gather",
        "storage": "memory" if in_memory else "sqlite-wal",
        "records": records,
        "requests": len(bodies),
        "concurrency": concurrency,
        "failures": failures,
        "seconds": round(elapsed, 3),
        "posts_per_s": round(len(bodies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "emulator_cpu_s_per_1k": None if cpu is None else round(cpu / len(bodies) * 1000, 3),
        "emulator_rss_mib": rss,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, print one JSON line."""
    parser = argparse.ArgumentParser(prog="bench.emulator_gather", description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--in-memory", action="store_true", help="No SQLite file (upper bound).")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.records, args.concurrency, args.in_memory)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
