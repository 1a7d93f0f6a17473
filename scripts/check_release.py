"""Refuse a release tag that does not match the packages: `python scripts/check_release.py v0.2.0`.

Both plugins are released together under one version. The release workflow runs this before
building: the tag must be `v<version>` of both pyproject.toml files, CHANGELOG.md must have a
section for that version, and each definition file's pip_url must install that tag.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ("tap-hubspot-gather", "target-gather")
VERSION_LINE = re.compile(r'^version = "([^"]+)"$', re.M)


def problems(tag: str) -> list[str]:
    """Everything that disagrees with `tag`; empty when the release may proceed."""
    found = []
    for plugin in PLUGINS:
        match = VERSION_LINE.search((ROOT / plugin / "pyproject.toml").read_text(encoding="utf-8"))
        version = match.group(1) if match else "?"
        if tag != f"v{version}":
            found.append(f"{plugin}/pyproject.toml has version {version}, the tag is {tag}")
        definition = (ROOT / plugin / "meltano-hub.yml").read_text(encoding="utf-8")
        if f"@{tag}#subdirectory={plugin}" not in definition:
            found.append(f"{plugin}/meltano-hub.yml: pip_url does not install {tag}")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    if not re.search(rf"^## \[{re.escape(tag.removeprefix('v'))}\]", changelog, re.M):
        found.append(f"CHANGELOG.md has no '## [{tag.removeprefix('v')}]' section")
    return found


def main() -> int:
    """Print each problem; exit 1 if any."""
    if len(sys.argv) != 2:  # the program name and the tag
        print("usage: check_release.py v<version>", file=sys.stderr)
        return 2
    found = problems(sys.argv[1])
    for problem in found:
        print(f"release refused: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
