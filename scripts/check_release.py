"""Refuse a release tag that does not match the packages: `python scripts/check_release.py v0.2.0`.

Both plugins and the package they share are released together under one version. The release
workflow runs this before building: the tag must be `v<version>` of the three pyproject.toml
files, each plugin must require the shared package of exactly that version, CHANGELOG.md must
have a section for that version, and each definition file's pip_url must install that tag.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ("tap-hubspot-gather", "target-gather")
COMMON = "hubspot-gather-common"
VERSION_LINE = re.compile(r'^version = "([^"]+)"$', re.M)


def problems(tag: str) -> list[str]:
    """Everything that disagrees with `tag`; empty when the release may proceed."""
    found = []
    for package in (COMMON, *PLUGINS):
        pyproject = (ROOT / package / "pyproject.toml").read_text(encoding="utf-8")
        match = VERSION_LINE.search(pyproject)
        version = match.group(1) if match else "?"
        if tag != f"v{version}":
            found.append(f"{package}/pyproject.toml has version {version}, the tag is {tag}")
        if package == COMMON:
            continue
        if f'"{COMMON}=={tag.removeprefix("v")}"' not in pyproject:
            found.append(f"{package}/pyproject.toml does not require {COMMON}=={tag[1:]}")
        definition = (ROOT / package / "meltano-hub.yml").read_text(encoding="utf-8")
        found.extend(
            f"{package}/meltano-hub.yml: pip_url does not install {folder} {tag}"
            for folder in (COMMON, package)
            if f"@{tag}#subdirectory={folder}" not in definition
        )
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
