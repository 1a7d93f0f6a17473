"""The release workflow's tag check: a tag releases only the version the packages, the changelog
and the definition files all name."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def check(tag: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_release.py"), tag],
        capture_output=True,
        text=True,
        check=False,
    )


def current_version() -> str:
    versions = {
        tomllib.loads((ROOT / name / "pyproject.toml").read_text())["project"]["version"]
        for name in ("hubspot-gather-common", "tap-hubspot-gather", "target-gather")
    }
    assert len(versions) == 1, f"the three packages are released with one version, not {versions}"
    return str(versions.pop())


def test_the_current_version_is_releasable() -> None:
    result = check(f"v{current_version()}")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("tag", ["v99.0.0", "0.1.0", "v0.1"])
def test_another_tag_is_refused_naming_each_mismatch(tag: str) -> None:
    result = check(tag)
    assert result.returncode == 1
    assert "pyproject.toml has version" in result.stderr
    assert "hubspot-gather-common/pyproject.toml has version" in result.stderr
    version = tag.removeprefix("v")
    assert (
        "does not require hubspot-gather-common==" in result.stderr or version == current_version()
    )
    assert "CHANGELOG.md has no" in result.stderr or version == current_version()


def test_the_changelog_has_an_unreleased_section_and_the_current_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert f"## [{current_version()}]" in changelog
