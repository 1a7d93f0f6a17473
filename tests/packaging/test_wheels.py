"""`make build` builds both plugins and their shared package; each plugin's wheel installs into
an empty venv (beside the shared package's wheel, as PyPI would resolve it) and runs there.

The installed wheel is the release artefact: it must carry its license and `py.typed`, install
with its declared dependencies only (no dev environment, no checkout on the path), and answer
`--about` and `--version`.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from tests.conftest import ROOT

PLUGINS = {"tap-hubspot-gather": "tap_hubspot_gather", "target-gather": "target_gather"}
COMMON = ("hubspot-gather-common", "hubspot_gather_common")  # both plugins depend on it
PACKAGES = dict([*PLUGINS.items(), COMMON])
UV = ROOT / ".tools" / "bin" / "uv"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output of `make build`, in a temporary folder."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        ["make", "--no-print-directory", "build", f"DIST={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return out


def version_of(name: str) -> str:
    return str(tomllib.loads((ROOT / name / "pyproject.toml").read_text())["project"]["version"])


def wheel_of(dist: Path, name: str) -> Path:
    return dist / f"{PACKAGES[name]}-{version_of(name)}-py3-none-any.whl"


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_build_makes_a_wheel_and_sdist_with_license_and_py_typed(dist: Path, name: str) -> None:
    module, version = PACKAGES[name], version_of(name)
    wheel = dist / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"{module}-{version}.dist-info/METADATA").decode()
    assert f"{module}/py.typed" in names
    assert f"{module}-{version}.dist-info/licenses/LICENSE" in names
    assert "License-Expression: Apache-2.0" in metadata
    assert "Classifier: Programming Language :: Python :: 3.13" in metadata
    assert "Project-URL: Repository" in metadata
    with tarfile.open(dist / f"{module}-{version}.tar.gz") as sdist:
        assert f"{module}-{version}/LICENSE" in sdist.getnames()


def test_package_licenses_are_the_root_license() -> None:
    root = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in root
    assert "Version 2.0, January 2004" in root
    for folder in (*PACKAGES, "emulators"):
        assert (ROOT / folder / "LICENSE").read_text(encoding="utf-8") == root, folder


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_wheel_installs_into_an_empty_venv_and_runs(dist: Path, name: str, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    wheels = [str(wheel_of(dist, COMMON[0])), str(wheel_of(dist, name))]
    for args in (["venv", "--quiet", str(venv)], ["pip", "install", "--quiet", "--python",
                 str(venv / "bin" / "python"), *wheels]):  # fmt: skip
        step = subprocess.run(
            [str(UV), *args], capture_output=True, text=True, env=env, check=False, timeout=300
        )
        assert step.returncode == 0, step.stderr[-2000:]
    exe = str(venv / "bin" / name)
    about = subprocess.run(
        [exe, "--about", "--format=json"], capture_output=True, text=True, cwd=tmp_path, env=env,
        check=False,
    )  # fmt: skip
    assert about.returncode == 0, about.stderr[-2000:]
    assert json.loads(about.stdout)["name"] == name
    version = subprocess.run(
        [exe, "--version"], capture_output=True, text=True, cwd=tmp_path, env=env, check=False
    )
    assert version.stdout.startswith(f"{name} v{version_of(name)}"), version.stdout


def test_the_emulators_package_builds_too(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(UV),
            "build",
            "--wheel",
            "--quiet",
            "--out-dir",
            str(tmp_path),
            str(ROOT / "emulators"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert list(tmp_path.glob("*.whl"))
