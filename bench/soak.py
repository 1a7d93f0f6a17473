"""A long `meltano run` soak under a mixed, seeded fault schedule (not part of the tests).

    .venv/bin/python -m bench.soak [--minutes N] [--seed S] [--contacts N] [--json PATH]

Cycle after cycle until the time is up: change the HubSpot portal (updates, creates,
archives), draw a fault plan for both emulators (429 with and without Retry-After, 5xx,
dropped connections, latency) and sometimes a crash (SIGKILL of the tap, of the target, or of
Gather, restarted on its data), run the pipeline, re-run until it succeeds, and check the two
promises the reliability suite makes: Gather holds exactly what HubSpot implies, and the
stored STATE is never ahead of what Gather holds (checked after every failed run too).

It reports records, runs, faults fired, retries (tap log lines and target summaries), re-sent
records and any broken promise; exit code 1 when a promise was broken. Same seed, same plan.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

from emulators.gather.pytest_plugin import GatherEmulatorProcess, GatherProcessFactory
from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tests.e2e.conftest import Pipeline, find_plugin_process
from tests.reliability.conftest import (
    FAST_RETRY_ENV,
    assert_state_not_ahead_of_gather,
    private_system_dir,
)

DEFAULT_MINUTES = 5.0
MAX_RERUNS = 4
RUN_TIMEOUT_S = 600
OBJECTS = "^/crm/(v3/)?objects/"  # date-versioned (our tap) or v3
RECORDS = "^/models/"
CRASH_CHANCE = 0.35  # share of cycles whose faulty run is also crashed
VICTIMS = ("tap-hubspot-gather", "target-gather", "gather-emulator")
TAP_RETRY_LINE = re.compile(r"HubSpot \S+ \S+: .*; retry \d+/\d+")


@dataclass
class SoakReport:
    """What the soak did and found."""

    seed: int
    minutes: float
    cycles: int = 0
    runs: int = 0
    failed_runs: int = 0
    crashes: Counter[str] = field(default_factory=Counter)
    faults_fired: Counter[str] = field(default_factory=Counter)
    tap_retries: int = 0
    target_retries: int = 0
    records_accepted: int = 0
    records_resent: int = 0
    accounts_held: int = 0
    users_held: int = 0
    broken_promises: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON types."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["crashes"] = dict(self.crashes)
        data["faults_fired"] = dict(self.faults_fired)
        return data

    def text(self) -> str:
        """A human summary."""
        lines = [
            f"soak: {self.cycles} cycles, {self.runs} meltano runs ({self.failed_runs} failed "
            f"on purpose or by fault) in {self.minutes:.1f} min, seed {self.seed}",
            f"crashes: {dict(self.crashes) or 'none'}",
            f"faults fired: {sum(self.faults_fired.values())} {dict(self.faults_fired)}",
            f"retries: tap {self.tap_retries}, target {self.target_retries}",
            f"upserts accepted by Gather during the cycles: {self.records_accepted} "
            f"(re-sent beyond the changes: {self.records_resent})",
            f"Gather holds {self.accounts_held} accounts, {self.users_held} users",
            f"broken promises: {len(self.broken_promises)}",
            *(f"  - {p}" for p in self.broken_promises),
        ]
        return "\n".join(lines)


def fault_plan(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A random mix of faults for HubSpot and for Gather (each rule fires a few times)."""
    hubspot: list[dict[str, Any]] = []
    gather: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 5)):
        kind = rng.choice(["429-ra", "429", "500", "502", "503", "504", "drop"])
        hubspot.append(_rule(OBJECTS, kind, rng, every=rng.randint(3, 9)))
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(["429-ra", "429", "500", "502", "503", "504", "drop"])
        gather.append(_rule(RECORDS, kind, rng, every=rng.randint(10, 60)))
    hubspot.append({"path": OBJECTS, "action": "latency", "delay_s": rng.uniform(0, 0.1)})
    hubspot[-1]["times"] = None
    gather.append(
        {"path": RECORDS, "action": "latency", "delay_s": rng.uniform(0, 0.02), "times": None}
    )
    return hubspot, gather


def _rule(path: str, kind: str, rng: random.Random, every: int) -> dict[str, Any]:
    rule: dict[str, Any] = {"path": path, "skip": rng.randint(0, 20), "every": every}
    rule["times"] = rng.randint(1, 4)
    if kind == "drop":
        rule["action"] = "drop"
    else:
        rule["status"] = int(kind.split("-", maxsplit=1)[0])
        if kind.endswith("-ra"):
            rule["retry_after"] = "0"
    return rule


def change_portal(hubspot: Any, rng: random.Random) -> None:
    """Some updates, a create or two, an archive: what a busy portal does between runs."""
    contacts = hubspot.dump("contacts")
    companies = hubspot.dump("companies")
    for contact in rng.sample(contacts, k=min(len(contacts), rng.randint(5, 60))):
        hubspot.update("contacts", contact["id"], {"city": f"City-{rng.randint(0, 999)}"})
    for company in rng.sample(companies, k=min(len(companies), rng.randint(0, 5))):
        hubspot.update("companies", company["id"], {"name": f"Company {rng.randint(0, 9999)}"})
    for _ in range(rng.randint(0, 3)):
        n = rng.randint(0, 10**9)
        hubspot.create(
            "contacts",
            {
                "firstname": "Soak",
                "lastname": f"Person{n}",
                "email": f"Soak.{n}@Example.com",
                "gather_user_id": f"U-SOAK-{n}",
            },
            primary_company_id=rng.choice(companies)["id"],
        )
    if contacts and rng.random() < 0.5:
        hubspot.archive("contacts", rng.choice(contacts)["id"])


class Soak:
    """The pipeline, its emulators and the running report."""

    def __init__(
        self, workdir: Path, seed: int, companies: int, contacts: int, crash_chance: float
    ) -> None:
        self.rng = random.Random(seed)
        self.crash_chance = crash_chance
        self.workdir = workdir
        self.hubspot = HubSpotEmulator.start()
        self.hubspot.unlimit()
        self.hubspot.seed(companies=companies, contacts=contacts, seed=seed)
        self.cycle_accepted = 0
        self.gather_factory = GatherProcessFactory(workdir)
        self.data_dir = workdir / "gather-data"
        gather = self.gather_factory.start(self.data_dir)
        self.pipeline = Pipeline(
            hubspot=self.hubspot,
            gather=gather,
            workdir=workdir,
            extra_env={**FAST_RETRY_ENV, **private_system_dir(workdir)},
        )

    def close(self) -> None:
        """Stop both emulators."""
        self.gather_factory.stop_all()
        self.hubspot.stop()

    @property
    def gather(self) -> GatherEmulatorProcess:
        gather: GatherEmulatorProcess = self.pipeline.gather
        return gather

    def restart_gather(self) -> None:
        """SIGKILL Gather and start it again on the same port and data."""
        port = urlsplit(self.gather.url).port
        self.cycle_accepted += accepted_upserts(self.gather.stats())
        self.gather.kill()
        time.sleep(self.rng.uniform(0, 0.5))
        self.pipeline.gather = self.gather_factory.start(
            self.data_dir, extra_args=("--port", str(port))
        )

    def cycle(self, report: SoakReport) -> None:
        """One change of the portal, one faulty (maybe crashed) run, re-runs until clean."""
        report.cycles += 1
        before = self.pipeline.held()
        self.gather.reset_stats()
        self.cycle_accepted = 0
        change_portal(self.hubspot, self.rng)
        hubspot_faults, gather_faults = fault_plan(self.rng)
        self.hubspot.set_faults(hubspot_faults)
        self.gather.set_faults(gather_faults)
        victim = self.rng.choice(VICTIMS) if self.rng.random() < self.crash_chance else None
        ok = self.run(report, victim)
        self.count_faults(report)
        self.hubspot.clear_faults()
        self.gather.clear_faults()
        reruns = 0
        while not ok and reruns < MAX_RERUNS:
            reruns += 1
            ok = self.run(report, None)
        if not ok:
            report.broken_promises.append(f"cycle {report.cycles}: no clean run in {reruns}")
            return
        accounts, users = self.pipeline.held()
        if (accounts, users) != self.pipeline.expected():
            report.broken_promises.append(f"cycle {report.cycles}: Gather differs from HubSpot")
        report.accounts_held, report.users_held = len(accounts), len(users)
        # Every accepted upsert beyond one per record that changed is a re-send.
        self.cycle_accepted += accepted_upserts(self.gather.stats())
        changed = sum(
            1
            for now, then in ((accounts, before[0]), (users, before[1]))
            for key, traits in now.items()
            if then.get(key) != traits
        )
        report.records_accepted += self.cycle_accepted
        report.records_resent += max(0, self.cycle_accepted - changed)

    def run(self, report: SoakReport, victim: str | None) -> bool:
        """One `meltano run` (crashing `victim` at a random point); True when it succeeded."""
        report.runs += 1
        meltano = self.pipeline.start()
        if victim is not None and self._crash(meltano, victim):
            report.crashes[victim] += 1
        try:
            _, stderr = meltano.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            meltano.kill()
            _, stderr = meltano.communicate()
        report.tap_retries += len(TAP_RETRY_LINE.findall(stderr))
        report.target_retries += self._target_retries()
        if meltano.returncode != 0:
            report.failed_runs += 1
        try:
            assert_state_not_ahead_of_gather(self.pipeline)
        except AssertionError as exc:
            report.broken_promises.append(f"run {report.runs}: {exc}")
        return meltano.returncode == 0

    def _crash(self, meltano: subprocess.Popen[str], victim: str) -> bool:
        started = find_plugin_process(
            meltano, "target-gather" if victim == "gather-emulator" else victim
        )
        if started is None:
            return False
        time.sleep(self.rng.uniform(0.1, 3.0))
        if meltano.poll() is not None:
            return False
        if victim == "gather-emulator":
            self.restart_gather()
        else:
            try:
                started.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                return False
        return True

    def _target_retries(self) -> int:
        path = self.workdir / f"summary-{self.pipeline.runs}.json"
        if not path.exists():
            return 0
        models = json.loads(path.read_text(encoding="utf-8")).get("models", {})
        return sum(int(m.get("retried", 0)) for m in models.values())

    def count_faults(self, report: SoakReport) -> None:
        """Add the faults each emulator fired in this cycle to the report."""
        for side, rules in (("hubspot", self.hubspot.faults()), ("gather", self.gather.faults())):
            for rule in rules:
                if rule["action"] == "latency" or not rule["fired"]:
                    continue
                name = "drop" if rule["action"] == "drop" else str(rule["status"])
                if rule.get("retry_after") is not None:
                    name += "+Retry-After"
                report.faults_fired[f"{side} {name}"] += rule["fired"]


def accepted_upserts(stats: dict[str, Any]) -> int:
    """Record upserts a Gather emulator answered 200/201 since its stats were reset."""
    routes = stats["requests"]["routes"]
    return sum(
        data.get("by_status", {}).get(status, 0)
        for route, data in routes.items()
        if route.startswith("POST ") and route.endswith("/records")
        for status in ("200", "201")
    )


def main(argv: list[str] | None = None) -> int:
    """Run the soak; print the report (and write it as JSON with --json)."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--companies", type=int, default=60)
    parser.add_argument("--contacts", type=int, default=1500)
    parser.add_argument("--crash-chance", type=float, default=CRASH_CHANCE)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)

    # A killed tap drops its connection mid-request; the in-process HubSpot emulator would log
    # each such ConnectionResetError with a traceback. Expected here, so keep it quiet.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    report = SoakReport(seed=args.seed, minutes=args.minutes)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(
        prefix="soak-", dir=Path(__file__).parent.parent / ".cache"
    ) as tmp:
        soak = Soak(Path(tmp), args.seed, args.companies, args.contacts, args.crash_chance)
        try:
            soak.run(report, None)  # the first full sync, fault-free
            while time.monotonic() - started < args.minutes * 60:
                soak.cycle(report)
        finally:
            soak.close()
    report.minutes = (time.monotonic() - started) / 60
    print(report.text())
    if args.json is not None:
        args.json.write_text(json.dumps(report.to_json(), indent=2), encoding="utf-8")
    return 1 if report.broken_promises else 0


if __name__ == "__main__":
    sys.exit(main())
