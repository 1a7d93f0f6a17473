"""The plugins describe themselves, run through meltano.yml, and agree with their READMEs.

(Their agreement with meltano.yml and the definition files: test_definitions.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import BIN, ROOT, run_meltano

PLUGINS = ("tap-hubspot-gather", "target-gather")


@pytest.mark.parametrize("executable", sorted(PLUGINS))
def test_plugin_answers_about_markdown_and_version(executable: str) -> None:
    about = subprocess.run(
        [str(BIN / executable), "--about", "--format=markdown"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert about.startswith(f"# `{executable}`")
    assert "## Settings" in about
    version = subprocess.run(
        [str(BIN / executable), "--version"], check=True, capture_output=True, text=True
    ).stdout
    assert version.startswith(f"{executable} v0.")


@pytest.mark.meltano
def test_meltano_invokes_the_tap_through_meltano_yml() -> None:
    result = run_meltano("invoke", "tap-hubspot-gather", "--about", "--format=json")
    assert result.returncode == 0, result.stderr[-2000:]
    about = json.loads(result.stdout)
    assert about["name"] == "tap-hubspot-gather"


def test_readme_settings_tables_match_about_output() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "sync_readme_settings.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
