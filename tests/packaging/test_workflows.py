"""The GitHub workflows: actions pinned by commit SHA, the test matrix is the supported Pythons,
and the scheduled sync installs only what a sync needs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def steps(workflow: Path) -> list[dict[str, object]]:
    jobs = yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"]
    return [step for job in jobs.values() for step in job.get("steps", [])]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_by_commit_sha(workflow: Path) -> None:
    uses = [str(step["uses"]) for step in steps(workflow) if "uses" in step]
    assert uses
    unpinned = [use for use in uses if not PINNED.match(use)]
    assert not unpinned, f"{workflow.name}: pin {unpinned} by commit SHA (tag in a comment)"


def test_the_test_matrix_is_the_supported_pythons() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "test.yml").read_text())
    matrix = workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"]
    for plugin in ("tap-hubspot-gather", "target-gather"):
        definition = yaml.safe_load((ROOT / plugin / "meltano-hub.yml").read_text())
        assert matrix == definition["supported_python_versions"], plugin


def test_the_scheduled_run_installs_no_dev_environment() -> None:
    script = (ROOT / "scripts" / "scheduled-run.sh").read_text(encoding="utf-8")
    assert "make --no-print-directory install" not in script
    assert "-r requirements/dev.txt" not in script
    assert "meltano install --schedule hubspot-to-gather-hourly" in script
