"""The Hub-style definition files, the lock files, meltano.yml and `--about` tell one story.

A setting or capability lives in the plugin's code and in its `meltano-hub.yml`; everything else
is generated (`make definitions` writes the lock files meltano.yml reads). Each failure says
which file to edit or what to run.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
import yaml

from tests.conftest import BIN, ROOT, run_meltano

PLUGINS = {"tap-hubspot-gather": "extractors", "target-gather": "loaders"}
# JSON Schema type of a setting -> the Meltano kinds that can hold it.
KINDS = {
    "string": {"string", "options", "date_iso8601", "password", "file"},
    "integer": {"integer"},
    "number": {"decimal"},
    "boolean": {"boolean"},
    "object": {"object"},
    "array": {"array"},
}
HUB_KEYS = (
    "name",
    "variant",
    "label",
    "description",
    "namespace",
    "repo",
    "docs",
    "keywords",
    "pip_url",
    "executable",
    "capabilities",
    "settings_group_validation",
    "supported_python_versions",
    "settings",
)
# What meltano.yml may say about our plugins; the rest comes from the definition files.
PROJECT_KEYS = {"name", "variant", "pip_url", "config", "select", "metadata", "schema"}


@functools.cache
def definition(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (ROOT / name / "meltano-hub.yml").read_text(encoding="utf-8")
    )
    return loaded


@functools.cache
def about(name: str) -> dict[str, Any]:
    out = subprocess.run(
        [str(BIN / name), "--about", "--format=json"], check=True, capture_output=True, text=True
    ).stdout
    loaded: dict[str, Any] = json.loads(out)
    return loaded


def json_types(spec: dict[str, Any]) -> set[str]:
    """The non-null JSON types a setting's schema allows (`type`, `anyOf` or `oneOf`)."""
    kind = spec.get("type")
    if kind is None:
        options = spec.get("anyOf") or spec.get("oneOf") or []
        return set().union(*(json_types(option) for option in options))
    return {kind} - {"null"} if isinstance(kind, str) else set(kind) - {"null"}


def test_lock_files_are_generated_from_the_definition_files() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "definitions.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_definition_has_every_hub_field(name: str) -> None:
    spec = definition(name)
    missing = [key for key in HUB_KEYS if not spec.get(key) and spec.get(key) != []]
    assert not missing, f"{name}/meltano-hub.yml lacks {missing}"
    assert "meltano_sdk" in spec["keywords"]
    for setting in spec["settings"]:
        for key in ("label", "kind", "description"):
            assert setting.get(key), f"{name}/meltano-hub.yml: {setting['name']} has no {key}"


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_definition_settings_are_exactly_the_plugins_settings(name: str) -> None:
    properties = about(name)["settings"]["properties"]
    declared = {s["name"]: s for s in definition(name)["settings"]}
    tops = {setting.split(".", 1)[0] for setting in declared}
    where = f"{name}/meltano-hub.yml (then run `make definitions`)"
    assert not sorted(set(properties) - tops), f"add {sorted(set(properties) - tops)} to {where}"
    assert not sorted(tops - set(properties)), (
        f"remove {sorted(tops - set(properties))} from {where}"
    )
    for setting_name, setting in declared.items():
        top, _, rest = setting_name.partition(".")
        schema = properties[top]
        for part in rest.split(".") if rest else []:
            schema = schema["properties"][part]
        types = json_types(schema)
        kinds = set().union(*(KINDS[kind] for kind in types))
        assert setting["kind"] in kinds, f"{where}: {setting_name} is {sorted(types)}"
        if schema.get("secret"):
            assert setting.get("sensitive") is True, f"{where}: {setting_name} is secret"
        if schema.get("default") is not None and top == setting_name:
            assert setting.get("value") == schema["default"], f"{where}: default of {setting_name}"
        if types == {"object"}:
            assert setting["kind"] == "object", setting_name  # stream_maps must not be a string


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_definition_capabilities_and_pythons_match_about(name: str) -> None:
    spec, reported = definition(name), about(name)
    assert sorted(spec["capabilities"]) == sorted(reported["capabilities"])
    assert spec["supported_python_versions"] == reported["supported_python_versions"]


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_settings_group_validation_names_real_settings(name: str) -> None:
    spec = definition(name)
    names = {s["name"] for s in spec["settings"]}
    for group in spec["settings_group_validation"]:
        assert set(group) <= names, group


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_definition_pip_url_installs_this_release(name: str) -> None:
    version = tomllib.loads((ROOT / name / "pyproject.toml").read_text())["project"]["version"]
    release = f"git+https://github.com/gatherdata/hubspot-gather-meltano.git@v{version}"
    # The plugin and the package it shares with the other plugin, from the same tag.
    assert definition(name)["pip_url"].split() == [
        f"{release}#subdirectory=hubspot-gather-common",
        f"{release}#subdirectory={name}",
    ]


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_meltano_yml_takes_our_plugins_from_their_definitions(name: str) -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (plugin,) = [p for p in project["plugins"][PLUGINS[name]] if p["name"] == name]
    assert plugin.get("variant") == definition(name)["variant"]
    extra = sorted(set(plugin) - PROJECT_KEYS)
    assert not extra, (
        f"meltano.yml declares {extra} for {name}: declare them in {name}/meltano-hub.yml "
        "and run `make definitions`"
    )


def test_tap_billing_inherits_the_hub_plugin_pinned() -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    by_name = {p["name"]: p for p in project["plugins"]["extractors"]}
    assert by_name["tap-billing"]["inherit_from"] == "tap-spreadsheets"
    base = by_name["tap-spreadsheets"]
    assert base["variant"] == "celine-eu"
    assert "==" in base["pip_url"]
    lock = ROOT / "plugins" / "extractors" / "tap-spreadsheets--celine-eu.lock"
    assert json.loads(lock.read_text())["variant"] == "celine-eu"


@pytest.mark.meltano
def test_meltano_config_set_stores_stream_maps_as_an_object(tmp_path: Path) -> None:
    """The SDK's built-in settings are declared with their kinds: an object stays an object."""
    for item in ("meltano.yml", "plugins"):
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, tmp_path / item)
        else:
            shutil.copy(source, tmp_path / item)
    maps = {"companies": {"name_upper": "name.upper()"}}
    result = run_meltano(
        "config", "set", "tap-hubspot-gather", "stream_maps", json.dumps(maps), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    project = yaml.safe_load((tmp_path / "meltano.yml").read_text(encoding="utf-8"))
    (tap,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-hubspot-gather"]
    assert tap["config"]["stream_maps"] == maps
