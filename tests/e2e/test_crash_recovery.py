"""A run killed at a random point (tap or target, SIGKILL) and re-run converges to the same
Gather contents as an uninterrupted run."""

from __future__ import annotations

import random
import signal
import subprocess
import time

import psutil
import pytest

from tests.e2e.conftest import Pipeline, find_plugin_process

SEED = {"companies": 60, "contacts": 1500, "seed": 5}
# Slow both sides down a little so that a kill lands while records are still in flight.
GATHER_LATENCY = {"path": "^/models/", "action": "latency", "delay_s": 0.02, "times": None}
HUBSPOT_LATENCY = {"path": "^/crm/objects/", "action": "latency", "delay_s": 0.15, "times": None}


def wait_for_child(meltano: subprocess.Popen[str], name: str) -> psutil.Process:
    """The plugin process `name` under `meltano run`; fails the test with meltano's log if the
    run ended before it started."""
    child = find_plugin_process(meltano, name)
    if child is not None:
        return child
    if meltano.poll() is not None:
        _, stderr = meltano.communicate()
        pytest.fail(f"meltano run ended before {name} started: {stderr[-3000:]}")
    pytest.fail(f"{name} never started under meltano run")


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("victim", "seed"), [("target-gather", 1), ("tap-hubspot-gather", 2), ("target-gather", 3)]
)
def test_killed_run_converges_after_a_rerun(pipeline: Pipeline, victim: str, seed: int) -> None:
    pipeline.hubspot.seed(**SEED)
    pipeline.gather.set_faults([GATHER_LATENCY])
    pipeline.hubspot.set_faults([HUBSPOT_LATENCY])
    rng = random.Random(seed)

    meltano = pipeline.start()
    try:
        process = wait_for_child(meltano, victim)
        time.sleep(rng.uniform(0.3, 2.0))
        process.send_signal(signal.SIGKILL)
        _, stderr = meltano.communicate(timeout=300)
    finally:
        if meltano.poll() is None:
            meltano.kill()
    assert meltano.returncode != 0, "the kill landed after the run had finished"

    pipeline.gather.clear_faults()
    pipeline.hubspot.clear_faults()
    pipeline.run()
    assert pipeline.held() == pipeline.expected(), stderr[-2000:]
