"""The plugins install, describe themselves, and agree with meltano.yml and their READMEs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import BIN, ROOT, run_meltano

PLUGINS = {
    "tap-hubspot-gather": ("extractors", "tap_hubspot_gather"),
    "target-gather": ("loaders", "target_gather"),
}
# Settings every singer-sdk plugin gets for free; meltano.yml need not redeclare them.
SDK_BUILTIN_PREFIXES = (
    "stream_maps",
    "stream_map_config",
    "faker_config",
    "flattening_",
    "batch_config",
    "add_record_metadata",
    "load_method",
    "batch_size_rows",
    "validate_records",
)


def about_json(executable: str) -> dict[str, Any]:
    out = subprocess.run(
        [str(BIN / executable), "--about", "--format=json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def own_settings(about: dict[str, Any]) -> dict[str, dict[str, Any]]:
    properties = about["settings"]["properties"]
    return {
        name: spec for name, spec in properties.items() if not name.startswith(SDK_BUILTIN_PREFIXES)
    }


def meltano_plugin(name: str) -> dict[str, Any]:
    kind, _ = PLUGINS[name]
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (plugin,) = [p for p in project["plugins"][kind] if p["name"] == name]
    return plugin


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


@pytest.mark.parametrize("executable", sorted(PLUGINS))
def test_every_plugin_setting_is_declared_in_meltano_yml(executable: str) -> None:
    declared = {s["name"]: s for s in meltano_plugin(executable)["settings"]}
    for name, spec in own_settings(about_json(executable)).items():
        assert name in declared, f"{executable} setting {name!r} is missing from meltano.yml"
        if spec.get("secret"):
            assert declared[name].get("sensitive") is True, f"{name} must be sensitive"
            assert declared[name].get("kind") == "string", f"{name}: secrets are kind: string"


@pytest.mark.parametrize("executable", sorted(PLUGINS))
def test_meltano_yml_declares_no_setting_the_plugin_lacks(executable: str) -> None:
    known = set(about_json(executable)["settings"]["properties"])
    for setting in meltano_plugin(executable)["settings"]:
        assert setting["name"] in known, f"meltano.yml declares unknown {setting['name']!r}"


def test_extractor_declares_state_and_catalog_capabilities() -> None:
    capabilities = set(meltano_plugin("tap-hubspot-gather")["capabilities"])
    assert {"state", "catalog", "discover", "about", "stream-maps"} <= capabilities


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


@pytest.mark.parametrize("package", ["tap-hubspot-gather", "target-gather", "emulators"])
def test_package_builds_as_a_wheel(package: str, tmp_path: Path) -> None:
    uv = ROOT / ".tools" / "bin" / "uv"
    result = subprocess.run(
        [str(uv), "build", "--wheel", "--quiet", "--out-dir", str(tmp_path), str(ROOT / package)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert list(tmp_path.glob("*.whl"))
