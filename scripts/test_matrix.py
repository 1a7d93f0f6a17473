"""`make test-matrix`: the non-Meltano tests on every supported Python found on this machine.

The plugins claim Python 3.10 to 3.13 (their classifiers, `requires-python` and `--about`);
CI runs the same matrix on GitHub. Here each interpreter that uv or pyenv can find gets its own
environment under `.cache/matrix/` (the pinned dev requirements plus the project's packages,
editable: the Makefile's PACKAGES, passed in as MATRIX_PACKAGES) and runs
`pytest -m "not meltano"`. The summary says which versions ran, which were not found, and each
result; the exit code is non-zero when one failed or none was found.
Standard library only: it runs with the bootstrap interpreter that installed uv.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = ROOT / ".tools" / "bin" / "uv"
MATRIX = ROOT / ".cache" / "matrix"
VERSIONS = ("3.10", "3.11", "3.12", "3.13")
# The project's packages: the Makefile's one list (PACKAGES), passed in by `make test-matrix`.
PACKAGES = tuple(os.environ.get("MATRIX_PACKAGES", "").split())
PYENV_ROOT = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def find_python(version: str) -> Path | None:
    """An interpreter of `version`: a pyenv install, else what uv finds (never a download)."""
    for candidate in sorted(PYENV_ROOT.glob(f"versions/{version}.*/bin/python{version}")):
        return candidate
    found = subprocess.run(
        [str(UV), "python", "find", "--system", "--no-python-downloads", version],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode == 0 and found.stdout.strip():
        return Path(found.stdout.strip())
    return None


def prepare(version: str, python: Path) -> Path:
    """The version's environment (created or refreshed; uv makes a no-op refresh cheap)."""
    venv = MATRIX / f"py{version}"
    steps = [
        [str(UV), "venv", "--quiet", "--allow-existing", "--python", str(python), str(venv)],
        [str(UV), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
         "-r", str(ROOT / "requirements" / "dev.txt"),
         *(arg for package in PACKAGES for arg in ("-e", str(ROOT / package)))],
    ]  # fmt: skip
    for step in steps:
        subprocess.run(step, check=True, cwd=ROOT)
    return venv


def main() -> int:
    """Run the matrix; print one line per version and a summary."""
    extra = sys.argv[1:]  # passed on to pytest, e.g. a test path
    if not PACKAGES:
        print("test-matrix: no MATRIX_PACKAGES; run it as `make test-matrix`", file=sys.stderr)
        return 2
    results: dict[str, str] = {}
    failed = False
    for version in VERSIONS:
        python = find_python(version)
        if python is None:
            results[version] = "not found (install it with pyenv or `uv python install`)"
            continue
        print(f"== Python {version} ({python})", flush=True)
        started = time.monotonic()
        try:
            venv = prepare(version, python)
        except subprocess.CalledProcessError as exc:
            results[version] = f"FAILED to build its environment ({exc})"
            failed = True
            continue
        run = subprocess.run(
            [str(venv / "bin" / "pytest"), "-n", "2", "-q", "-m", "not meltano", *extra],
            cwd=ROOT,
            check=False,
        )
        elapsed = time.monotonic() - started
        if run.returncode == 0:
            results[version] = f"passed ({elapsed:.0f} s)"
        else:
            results[version] = f"FAILED: pytest exit code {run.returncode} ({elapsed:.0f} s)"
            failed = True
    print("\nmake test-matrix (tests not marked meltano):")
    for version, result in results.items():
        print(f"  Python {version}: {result}")
    ran = [v for v, r in results.items() if not r.startswith("not found")]
    if not ran:
        print("no supported Python found: nothing ran", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
