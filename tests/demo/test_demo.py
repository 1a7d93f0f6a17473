"""The README's first command works: the demo runs the main job twice and tells what happened."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MELTANO_ENV, ROOT

DEMO_TIMEOUT_S = 300


@pytest.mark.meltano
def test_demo_syncs_then_shows_that_only_the_changes_travelled(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        cwd=ROOT,
        env={**os.environ, **MELTANO_ENV, "DEMO_OUTPUT_DIR": str(tmp_path / "demo")},
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    first, second = out.split("3. Second sync", 1)
    created = re.search(r"Gather account \(\d+ records in\): created (\d+)", first)
    assert created is not None
    assert int(created.group(1)) > 200
    assert re.search(r"Skipped by the tap: contacts: \d+ records skipped", first)
    assert "required trait 'name' is missing or empty" in first
    assert "A sample user and its account" in first
    # Second run: 5 updated + 3 created users and 2 deletes travel, nothing else.
    assert re.search(r"Gather user \(\d+ records in\): created 3, updated 5", second)
    assert re.search(r"Gather received: 10 requests", second)
    assert "Emulators stopped" in out
