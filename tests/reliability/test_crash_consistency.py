"""Crash consistency: SIGKILL of the tap, of the target, or of Gather itself (restarted on its
data) at a seeded random point of a `meltano run`; every trial converges after re-runs, and
the STATE stored after the crash is never ahead of what Gather holds.

`bench/soak.py` runs many more trials of the same kind; these few keep CI fast.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Pipeline
from tests.reliability.conftest import (
    FAST_RETRY_ENV,
    assert_state_not_ahead_of_gather,
    kill,
    private_system_dir,
    run_allowing_failure,
    wait_for_child,
)

SEED = {"companies": 30, "contacts": 400}
# Slow both sides a little so that a kill lands while records are in flight.
GATHER_LATENCY = {"path": "^/models/", "action": "latency", "delay_s": 0.01, "times": None}
HUBSPOT_LATENCY = {"path": "^/crm/objects/", "action": "latency", "delay_s": 0.1, "times": None}
MAX_RERUNS = 3
POLL_S = 0.005
TRIALS = [
    pytest.param("tap-hubspot-gather", 101, id="tap-101"),
    pytest.param("target-gather", 202, id="target-202"),
    pytest.param("gather-emulator", 303, id="gather-303"),
    pytest.param("gather-emulator", 304, id="gather-304"),
    pytest.param("tap-hubspot-gather", 105, id="tap-105"),
    pytest.param("target-gather", 206, id="target-206"),
]


class CrashTrial:
    """One pipeline whose Gather is a subprocess that can be killed and restarted."""

    def __init__(self, hubspot: Any, gather_factory: Any, workdir: Path) -> None:
        self.gather_factory = gather_factory
        self.data_dir = workdir / "gather-data"
        gather = gather_factory.start(self.data_dir)
        self.pipeline = Pipeline(
            hubspot=hubspot,
            gather=gather,
            workdir=workdir,
            extra_env={**FAST_RETRY_ENV, **private_system_dir(workdir)},
        )

    def restart_gather(self, downtime_s: float) -> None:
        """SIGKILL Gather, wait, and start it again on the same port and data."""
        gather = self.pipeline.gather
        port = urlsplit(gather.url).port
        gather.kill()
        time.sleep(downtime_s)
        self.pipeline.gather = self.gather_factory.start(
            self.data_dir, extra_args=("--port", str(port))
        )


def crash_once(trial: CrashTrial, victim: str, rng: random.Random) -> bool:
    """Start a run and crash `victim` at a seeded point of its progress; True when it hit.

    The point is counted in requests (HubSpot object pages read by the tap, record upserts
    Gather served), not in seconds, so the same seed crashes at the same place on any machine.
    A killed plugin fails the run; a restarted Gather may be absorbed by the target's retries,
    and hit the run when the new Gather served requests of it.
    """
    pipeline = trial.pipeline
    hubspot_pages = rng.randint(1, 4)
    upserts = rng.randint(1, 250)
    meltano = pipeline.start()
    try:
        if victim == "tap-hubspot-gather":
            process = wait_for_child(meltano, victim)
            if process is not None and wait_until(
                meltano, lambda: _object_pages(pipeline) >= hubspot_pages
            ):
                kill(process)
        else:
            process = wait_for_child(meltano, "target-gather")
            if process is not None and wait_until(meltano, lambda: _upserts(pipeline) >= upserts):
                if victim == "gather-emulator":
                    trial.restart_gather(downtime_s=rng.uniform(0.0, 0.5))
                else:
                    kill(process)
        meltano.communicate(timeout=240)
    finally:
        if meltano.poll() is None:
            meltano.kill()
            meltano.communicate()
    if meltano.returncode != 0:
        return True
    return victim == "gather-emulator" and pipeline.gather.stats()["requests"]["total"] > 0


def wait_until(meltano: subprocess.Popen[str], reached: Callable[[], bool]) -> bool:
    """Poll until `reached()`; False if the run ended first."""
    while meltano.poll() is None:
        if reached():
            return True
        time.sleep(POLL_S)
    return False


def _object_pages(pipeline: Pipeline) -> int:
    routes = pipeline.hubspot.stats()["routes"]
    return sum(data["total"] for route, data in routes.items() if "/crm/objects/" in route)


def _upserts(pipeline: Pipeline) -> int:
    total: int = pipeline.gather.stats()["requests"]["total"]
    return total


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize(("victim", "seed"), TRIALS)
def test_a_crash_at_a_random_point_converges_and_state_stays_behind_gather(
    hubspot_emulator: Any, gather_emulator_process: Any, tmp_path: Path, victim: str, seed: int
) -> None:
    hubspot_emulator.unlimit()
    hubspot_emulator.seed(**SEED, seed=seed)
    trial = CrashTrial(hubspot_emulator, gather_emulator_process, tmp_path)
    pipeline = trial.pipeline
    pipeline.gather.set_faults([GATHER_LATENCY])
    hubspot_emulator.set_faults([HUBSPOT_LATENCY])

    assert crash_once(trial, victim, random.Random(seed)), "the crash landed after the run"

    pipeline.gather.clear_faults()
    hubspot_emulator.clear_faults()
    assert_state_not_ahead_of_gather(pipeline)
    for _ in range(MAX_RERUNS):
        result = run_allowing_failure(pipeline)
        if result.returncode == 0:
            break
    assert result.returncode == 0, result.stderr[-3000:]
    assert pipeline.held() == pipeline.expected()
    assert assert_state_not_ahead_of_gather(pipeline) > 0
