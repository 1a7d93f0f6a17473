"""`python -m bench [--smoke] [--no-write] [--no-peer]`: the six benchmark scenarios,
the cost of following identities (scenario 7) and journal mode (scenario 8).

Writes `bench/results/<timestamp>.json`, regenerates `bench/RESULTS.md` and its two charts.
`--smoke` runs every scenario at tiny sizes in seconds (to keep the code working, figures
meaningless) and leaves RESULTS.md alone; `--no-write` prints the JSON result on stdout and
writes nothing in `bench/`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import gather_side, hubspot_side, identity_side, journal_side, peer, report
from bench.common import machine

RESULTS_DIR = Path(__file__).resolve().parent / "results"
FULL = hubspot_side.Sizes(
    contacts=100_000,
    companies=10_000,
    limited_contacts=100_000,  # 1,100+ requests: long enough that the first burst matters little
    limited_companies=10_000,
    limited_changes=10_000,
    changes=(1_000, 250, 4_000),
    ties=12_000,
    peer_tie_timeout_s=90.0,
    peer_limited_timeout_s=300.0,
)
SMOKE = hubspot_side.Sizes(
    contacts=300,
    companies=30,
    limited_contacts=300,
    limited_companies=30,
    limited_changes=30,
    changes=(20, 10, 40),
    ties=60,
    peer_tie_timeout_s=15.0,
    peer_limited_timeout_s=30.0,
)
FULL_TARGET_RECORDS = 100_000
SMOKE_TARGET_RECORDS = 300
FULL_E2E = ((10_000, 1_000), (100_000, 10_000))
SMOKE_E2E = ((100, 10), (300, 30))
FULL_IDENTITY = identity_side.IdentitySizes(
    contacts=100_000,
    companies=10_000,
    changes=1_000,
    companies_changed=(10, 100),
    companies_renamed=100,
    companies_rekeyed=10,
)
SMOKE_IDENTITY = identity_side.IdentitySizes(
    contacts=300,
    companies=30,
    changes=20,
    companies_changed=(2, 5),
    companies_renamed=5,
    companies_rekeyed=1,
)
FULL_JOURNAL = journal_side.JournalSizes(
    contacts=100_000, companies=10_000, changes=1_000, companies_moved=10, hourly_changes=1_200
)
SMOKE_JOURNAL = journal_side.JournalSizes(
    contacts=300, companies=30, changes=40, companies_moved=2, hourly_changes=24
)


def say(text: str) -> None:
    """Progress on stderr (stdout may carry the JSON result)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def linear_fit(xs: list[float], ys: list[float]) -> dict[str, float] | None:
    """Least squares y = a + b x, with R^2 (time against changed records)."""
    n = len(xs)
    if n < 2 or len(set(xs)) < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    b = sxy / sxx
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return {"fixed_s": a, "per_change_ms": b * 1000, "r2": 1 - ss_res / ss_tot if ss_tot else 1.0}


def run(smoke: bool, with_peer: bool, workdir: Path) -> dict[str, Any]:
    """Every scenario; returns the result document."""
    sizes = SMOKE if smoke else FULL
    started = time.perf_counter()
    load_before = os.getloadavg()[0]  # other work on the machine skews absolute figures
    scenarios: dict[str, Any] = {}
    if with_peer:
        say("peer venv (built once in .cache/bench/peer-venv)")
        peer.ensure_venv()
    say(f"scenarios 1, 2, 4: {sizes.contacts:,} contacts, {sizes.companies:,} companies")
    scenarios.update(hubspot_side.run_unlimited(sizes, workdir, with_peer))
    runs = scenarios["s4"]["runs"]
    scenarios["s4"]["fit"] = linear_fit(
        [float(r["changed"]) for r in runs], [float(r["seconds"]) for r in runs]
    )
    say(f"scenario 3: HubSpot limits, {sizes.limited_contacts:,} contacts")
    scenarios["s3"] = hubspot_side.run_limited(sizes, workdir, with_peer)
    records = SMOKE_TARGET_RECORDS if smoke else FULL_TARGET_RECORDS
    say(f"scenario 5: target, {records:,} users")
    scenarios["s5"] = gather_side.run_target(records, workdir)
    e2e, small_buffer = [], []
    for contacts, companies in SMOKE_E2E if smoke else FULL_E2E:
        say(f"scenario 6: meltano run, {contacts:,} contacts")
        e2e.append(gather_side.run_meltano(contacts, companies, workdir))
        say(f"scenario 6: meltano run, {contacts:,} contacts, elt.buffer_size 2 MiB")
        small_buffer.append(
            gather_side.run_meltano(contacts, companies, workdir, gather_side.SMALL_ELT_BUFFER)
        )
    scenarios["s6"] = {"runs": e2e, "runs_small_buffer": small_buffer}
    identity = SMOKE_IDENTITY if smoke else FULL_IDENTITY
    say(f"scenario 7: following identities, {identity.contacts:,} contacts")
    scenarios["s7"] = identity_side.run_identity(identity, workdir)
    journal = SMOKE_JOURNAL if smoke else FULL_JOURNAL
    say(f"scenario 8: journal mode, {journal.contacts:,} contacts, HubSpot's limits")
    scenarios["s8"] = journal_side.run_journal(journal, workdir)
    result: dict[str, Any] = {
        "timestamp": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "smoke": smoke,
        "machine": machine(),
        "sizes": {
            "contacts": sizes.contacts,
            "companies": sizes.companies,
            "limited_contacts": sizes.limited_contacts,
            "limited_companies": sizes.limited_companies,
            "limited_changes": sizes.limited_changes,
            "changes": list(sizes.changes),
            "ties": sizes.ties,
            "target_records": records,
            "e2e": [list(p) for p in (SMOKE_E2E if smoke else FULL_E2E)],
        },
        "scenarios": scenarios,
    }
    result["bars"] = {
        **hubspot_side.bars(scenarios),
        **gather_side.bars(scenarios),
        **identity_side.bars(scenarios["s7"]),
        **journal_side.bars(scenarios["s8"]),
    }
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_1min"] = {
        "start": round(load_before, 2),
        "end": round(os.getloadavg()[0], 2),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, write or print."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds long")
    parser.add_argument("--no-write", action="store_true", help="print JSON, write nothing")
    parser.add_argument("--no-peer", action="store_true", help="skip the peer (no venv build)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        result = run(args.smoke, not args.no_peer, Path(tmp))
        name = result["timestamp"].replace(":", "") + ("-smoke" if args.smoke else "") + ".json"
        result["file"] = name
        if args.smoke:
            report.write(result, Path(tmp))  # exercise the report; smoke figures mean nothing
    met = sum(b["met"] for items in result["bars"].values() for b in items)
    total = sum(len(items) for items in result["bars"].values())
    if args.no_write:
        print(json.dumps(result, indent=1))
    else:
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / name).write_text(json.dumps(result, indent=1) + "\n")
        say(f"wrote bench/results/{name}")
        if not args.smoke:
            path = report.write(result)
            say(f"wrote {path.relative_to(path.parent.parent)} and its charts")
    say(f"{met} of {total} bars met in {result['total_seconds']:.0f} s")
    return 0
