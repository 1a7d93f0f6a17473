"""How many records per second the HubSpot emulator serves to a bare HTTP client.

    .venv/bin/python -m bench.emulator_hubspot [--contacts N] [--companies M]

Starts ``hubspot-emulator`` as a subprocess with N seeded contacts (rate limits off: the point
is the emulator's own speed), then a single keep-alive `requests.Session` pages through every
contact: list pages (limit 100, ~10 properties), list pages with inline company associations,
and search pages (limit 200, keyset: ``hs_object_id`` GT last id, sorted ascending, plus a
modified-date window, as the tap's incremental sync does). Prints one JSON line: records/s per
scenario, start-up (seeding) time, and the emulator's CPU seconds per 1,000 records served.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import requests

from emulators.common.process import start_emulator as start_process
from tap_hubspot_gather.versions import paths_for

PATHS = paths_for(None)  # the paths the tap calls by default
TOKEN = "bench-token"  # noqa: S105 - a throwaway local credential
PROPERTIES = [
    "email",
    "firstname",
    "lastname",
    "city",
    "country",
    "jobtitle",
    "gather_user_id",
    "associatedcompanyid",
    "lifecyclestage",
    "gather_signup_date",
]
LIST_LIMIT = 100  # HubSpot's list maximum
SEARCH_LIMIT = 200  # HubSpot's search maximum
WINDOW_START_MS = "0"
WINDOW_END_MS = "4102444800000"  # 2100-01-01: the window holds every seeded record


def start_emulator(
    contacts: int, companies: int, log: Path
) -> tuple[subprocess.Popen[bytes], str, float]:
    """Start the emulator; returns the process, its URL and the seconds until it listened."""
    args = [
        "--no-rate-limits",
        "--seed-contacts",
        str(contacts),
        "--seed-companies",
        str(companies),
    ]
    emulator = start_process("hubspot", args, log_path=log, env={"HUBSPOT_EMULATOR_TOKENS": TOKEN})
    return emulator.process, emulator.url, emulator.startup_s


def _list_pages(session: requests.Session, url: str, associations: bool) -> int:
    params: dict[str, Any] = {"limit": LIST_LIMIT, "properties": ",".join(PROPERTIES)}
    if associations:
        params["associations"] = "companies"
    served = 0
    while True:
        response = session.get(f"{url}{PATHS.objects('contacts')}", params=params, timeout=60)
        response.raise_for_status()
        data = response.json()
        served += len(data["results"])
        following = data.get("paging", {}).get("next")
        if not following:
            return served
        params["after"] = following["after"]


def _search_pages(session: requests.Session, url: str) -> int:
    served, last_id = 0, "0"
    while True:
        body = {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "lastmodifieddate",
                            "operator": "GTE",
                            "value": WINDOW_START_MS,
                        },
                        {
                            "propertyName": "lastmodifieddate",
                            "operator": "LTE",
                            "value": WINDOW_END_MS,
                        },
                        {"propertyName": "hs_object_id", "operator": "GT", "value": last_id},
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": PROPERTIES,
            "limit": SEARCH_LIMIT,
        }
        response = session.post(f"{url}{PATHS.search('contacts')}", json=body, timeout=60)
        response.raise_for_status()
        results = response.json()["results"]
        if not results:
            return served
        served += len(results)
        last_id = results[-1]["id"]


def _measure(process: psutil.Process, run: Callable[[], int]) -> dict[str, float]:
    cpu_before = sum(process.cpu_times()[:2])
    started = time.perf_counter()
    served = run()
    elapsed = time.perf_counter() - started
    cpu = sum(process.cpu_times()[:2]) - cpu_before
    return {
        "records": served,
        "seconds": round(elapsed, 3),
        "records_per_s": round(served / elapsed),
        "emulator_cpu_s_per_1000_records": round(cpu / served * 1000, 4),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=None, help="default: contacts / 10")
    args = parser.parse_args(argv)
    companies = args.companies if args.companies is not None else max(1, args.contacts // 10)
    with tempfile.TemporaryDirectory(prefix="bench-hubspot-") as tmp:
        process, url, startup = start_emulator(args.contacts, companies, Path(tmp) / "emulator.log")
        try:
            watched = psutil.Process(process.pid)
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {TOKEN}"
            result: dict[str, Any] = {
                "benchmark": "emulator_hubspot",
                "contacts": args.contacts,
                "companies": companies,
                "properties": len(PROPERTIES),
                "startup_s": round(startup, 2),
                "list": _measure(watched, lambda: _list_pages(session, url, associations=False)),
                "list_with_associations": _measure(
                    watched, lambda: _list_pages(session, url, associations=True)
                ),
                "search_keyset": _measure(watched, lambda: _search_pages(session, url)),
            }
            session.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
