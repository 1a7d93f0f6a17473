"""Fixtures shared by every test: paths, a Meltano environment kept inside the checkout.

Emulator fixtures live next to each emulator (`emulators.<app>.pytest_plugin`) so that any
project using the emulators gets them too; they are registered here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytest_plugins = [
    plugin
    for plugin in ("emulators.hubspot.pytest_plugin", "emulators.gather.pytest_plugin")
    if (ROOT / "emulators" / Path(*plugin.split("."))).with_suffix(".py").exists()
] + ["tests.services.postgres"]

# Meltano, uv and friends write caches and logs under $HOME unless told otherwise.
MELTANO_ENV = {
    "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
    "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    "XDG_CACHE_HOME": str(ROOT / ".cache"),
    "XDG_STATE_HOME": str(ROOT / ".local" / "state"),
    "XDG_DATA_HOME": str(ROOT / ".local" / "share"),
    "UV_CACHE_DIR": str(ROOT / ".cache" / "uv"),
}
for _key, _value in MELTANO_ENV.items():
    os.environ.setdefault(_key, _value)


def run_meltano(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run the dev environment's `meltano` with the project's environment; never raises."""
    full_env = {**os.environ, **MELTANO_ENV, **(env or {})}
    return subprocess.run(
        [str(BIN / "meltano"), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# Concurrent `meltano run`s in one project share `.meltano/run/<plugin>/` (the generated config
# and catalog files), so every test that runs Meltano carries the `meltano` marker and `make test`
# runs those one at a time, after the others (which run on two xdist workers).
MELTANO_TEST_DIRS = ("e2e", "reliability", "security", "bench")


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark every test in the Meltano-running folders `meltano`."""
    if any(part in MELTANO_TEST_DIRS for part in item.path.parts):
        item.add_marker(pytest.mark.meltano)


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The checkout's root folder."""
    return ROOT


@pytest.fixture
def state_backend(tmp_path: Path) -> dict[str, str]:
    """Env vars pointing Meltano's state at a fresh per-test folder."""
    folder = tmp_path / "state"
    folder.mkdir()
    return {"MELTANO_STATE_BACKEND_URI": folder.as_uri()}
