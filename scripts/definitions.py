"""Write the plugin lock files under `plugins/` from the plugins' Hub-style definition files.

Each plugin's definition lives in ONE file, `<plugin>/meltano-hub.yml` (the file another
Meltano project adds with `meltano add --from-ref`). This project's `meltano.yml` names the
plugin by `variant` only, so Meltano reads the definition from the lock file
`plugins/<type>/<plugin>--<variant>.lock`, written here in Meltano's own lock format (Meltano
locks Hub plugins itself with `meltano lock`; ours are not on the Hub, so `make definitions`
does it). Adding a setting: add it to the plugin's schema and to its `meltano-hub.yml`, then
run `make definitions`. `--check` only reports stale lock files (the packaging tests run it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from meltano.core.plugin.base import PluginDefinition, PluginType, StandalonePlugin

ROOT = Path(__file__).resolve().parent.parent
# Definition file -> plugin type, for the plugins this repository builds.
DEFINITIONS = {
    ROOT / "tap-hubspot-gather" / "meltano-hub.yml": PluginType.EXTRACTORS,
    ROOT / "target-gather" / "meltano-hub.yml": PluginType.LOADERS,
}


def load_definition(path: Path, plugin_type: PluginType) -> dict[str, Any]:
    """The definition file as a mapping (a Hub-style definition holds one variant)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "name" not in data or "variant" not in data:
        msg = f"{path}: a plugin definition needs at least `name` and `variant`"
        raise SystemExit(msg)
    return {"plugin_type": str(plugin_type), **data}


def lock_path(definition: dict[str, Any]) -> Path:
    """Where Meltano looks for the plugin's lock file."""
    return (
        ROOT
        / "plugins"
        / definition["plugin_type"]
        / f"{definition['name']}--{definition['variant']}.lock"
    )


def lock_text(definition: dict[str, Any]) -> str:
    """The lock file's text, as `meltano lock` writes it (PluginLockService.save_definition)."""
    parsed = PluginDefinition.parse(definition)
    variant = parsed.find_variant(definition["variant"])
    locked = StandalonePlugin.from_variant(variant, parsed)
    return json.dumps(locked.canonical(), indent=2) + "\n"


def main() -> int:
    """Write (or with --check, compare) every lock file; exit 1 when one is stale."""
    check = "--check" in sys.argv[1:]
    stale = []
    for source, plugin_type in DEFINITIONS.items():
        definition = load_definition(source, plugin_type)
        path = lock_path(definition)
        wanted = lock_text(definition)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != wanted:
            stale.append(str(path.relative_to(ROOT)))
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(wanted, encoding="utf-8")
    if check and stale:
        print(
            "plugin lock files differ from the definition files (run `make definitions`):",
            ", ".join(stale),
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
