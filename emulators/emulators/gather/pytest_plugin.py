"""pytest fixtures for the Gather emulator (registered by the project's ``tests/conftest.py``).

``gather_emulator`` (function scope)
    The emulator in-process on a free loopback port, storing in a fresh temp data dir,
    accepting one key. Yields a `GatherEmulator` with ``.url``, ``.api_key``,
    ``.data_dir``, ``.auth_headers``, ``.record_url(model, id)`` and helpers over HTTP:
    ``records(model) -> {id: traits}``, ``records_with_meta(model)``,
    ``record(model, id) -> flat record with _meta | None``, ``events()``, ``stats()``,
    ``reset()``, ``reset_stats()``, ``set_faults(rules)``, ``add_faults(rules)``,
    ``faults()``, ``clear_faults()``, ``set_config(**switches)``, ``config()``.

``gather_emulator_factory`` (function scope)
    In-process emulators with other settings: ``start(*, api_keys=None, config=None,
    in_memory=False, max_body_bytes=..., workspaces=None)`` returns a `GatherEmulator`;
    ``config`` is an `emulators.gather.config.EmulatorConfig` (the start-up config that
    ``reset()`` restores); ``workspaces`` maps names to keys of separate workspaces (read
    them with ``records(model, workspace=NAME)``). ``gather_emulator`` is
    ``gather_emulator_factory.start()``.

``gather_emulator_process`` (function scope)
    A factory starting the emulator as a subprocess (``python -m emulators.gather.cli``),
    for tests that crash it: ``start(data_dir=None, *, api_keys=None, extra_args=(),
    in_memory=False)`` returns a `GatherEmulatorProcess` (same helpers plus ``.pid``, ``.log_path``,
    ``kill()`` = SIGKILL, ``terminate()`` = SIGTERM, both waiting for the exit). Starting
    again on the same ``data_dir`` is a restart. The API key goes through the
    ``GATHER_EMULATOR_API_KEYS`` env var, never the command line. Every process still
    running at teardown is terminated.

Example::

    def test_upsert(gather_emulator):
        requests.post(f"{gather_emulator.url}/models/account/records",
                      json={"id": "a1", "name": "Acme"}, headers=gather_emulator.auth_headers)
        assert gather_emulator.records("account") == {"a1": {"name": "Acme"}}
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from emulators.common.server import BackgroundServer
from emulators.gather.app import DEFAULT_MAX_BODY_BYTES, make_app
from emulators.gather.cli import KEYS_ENV
from emulators.gather.client import GatherClient
from emulators.gather.config import EmulatorConfig

GATHER_TEST_API_KEY = "gather-test-key-not-a-secret"
# A cold interpreter imports aiohttp in well under a second; allow for a loaded CI box.
STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
LISTENING = re.compile(r"Listening on (http://\S+)")


class GatherEmulator(GatherClient):
    """An in-process emulator (see the module docstring)."""

    def __init__(self, server: BackgroundServer, api_key: str, data_dir: Path) -> None:
        self.server = server
        self.url = server.url
        self.api_key = api_key
        self.data_dir = data_dir


class GatherEmulatorProcess(GatherClient):
    """An emulator subprocess (see the module docstring)."""

    def __init__(
        self, process: subprocess.Popen[bytes], url: str, api_key: str, data_dir: Path, log: Path
    ) -> None:
        self.process = process
        self.url = url
        self.api_key = api_key
        self.data_dir = data_dir
        self.log_path = log

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, like a crash: no cleanup runs. Waits for the exit."""
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)

    def terminate(self) -> int:
        """SIGTERM (a clean stop); returns the exit code."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=STOP_TIMEOUT_S)


class GatherProcessFactory:
    """Starts emulator subprocesses under one temp folder and stops them at teardown."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[GatherEmulatorProcess] = []

    def start(
        self,
        data_dir: Path | None = None,
        *,
        api_keys: Sequence[str] | None = None,
        extra_args: Sequence[str] = (),
        in_memory: bool = False,
    ) -> GatherEmulatorProcess:
        """Start one emulator and wait for its URL line (raises with its log on failure)."""
        keys = list(api_keys) if api_keys is not None else [GATHER_TEST_API_KEY]
        data = data_dir if data_dir is not None else self.root / "data"
        log = self.root / f"gather-emulator-{len(self.started)}.log"
        env = {**os.environ, KEYS_ENV: ",".join(keys)}
        command = [sys.executable, "-m", "emulators.gather.cli", "--port", "0"]
        command += ["--in-memory"] if in_memory else ["--data-dir", str(data)]
        command += extra_args
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
                command, stdout=out, stderr=subprocess.STDOUT, env=env
            )
        url = _wait_for_url(process, log)
        emulator = GatherEmulatorProcess(process, url, keys[0], data, log)
        self.started.append(emulator)
        return emulator

    def __call__(
        self,
        data_dir: Path | None = None,
        *,
        api_keys: Sequence[str] | None = None,
        extra_args: Sequence[str] = (),
        in_memory: bool = False,
    ) -> GatherEmulatorProcess:
        """Same as `start`."""
        return self.start(data_dir, api_keys=api_keys, extra_args=extra_args, in_memory=in_memory)

    def stop_all(self) -> None:
        """Terminate every process still running (SIGKILL if SIGTERM is ignored)."""
        for emulator in self.started:
            if emulator.alive:
                try:
                    emulator.terminate()
                except subprocess.TimeoutExpired:
                    emulator.kill()


def _wait_for_url(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        match = LISTENING.search(log.read_text(encoding="utf-8", errors="replace"))
        if match:
            return match.group(1)
        if process.poll() is not None:
            msg = f"gather-emulator exited with {process.returncode} on start: {log.read_text()}"
            raise RuntimeError(msg)
        time.sleep(0.02)
    process.kill()
    msg = f"gather-emulator printed no URL within {STARTUP_TIMEOUT_S} s; log: {log.read_text()}"
    raise RuntimeError(msg)


class GatherEmulatorFactory:
    """Starts in-process emulators under one temp folder and stops them at teardown."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[GatherEmulator] = []

    def start(
        self,
        *,
        api_keys: Sequence[str] | None = None,
        config: EmulatorConfig | None = None,
        in_memory: bool = False,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        workspaces: Mapping[str, Sequence[str]] | None = None,
    ) -> GatherEmulator:
        """Start one emulator; ``.api_key`` is the first of `api_keys` (none: of the first
        workspace)."""
        keys = list(api_keys) if api_keys is not None else [GATHER_TEST_API_KEY]
        data_dir = self.root / f"gather-emulator-{len(self.started)}"
        app = make_app(
            keys,
            None if in_memory else data_dir,
            config=config,
            max_body_bytes=max_body_bytes,
            workspaces=workspaces,
        )
        first_key = keys[0] if keys else next(iter(next(iter((workspaces or {}).values()))))
        emulator = GatherEmulator(BackgroundServer(app).start(), first_key, data_dir)
        self.started.append(emulator)
        return emulator

    def stop_all(self) -> None:
        """Stop every emulator this factory started."""
        for emulator in self.started:
            emulator.server.stop()


@pytest.fixture
def gather_emulator_factory(tmp_path: Path) -> Iterator[GatherEmulatorFactory]:
    """A factory of in-process emulators with chosen keys, config or in-memory storage."""
    factory = GatherEmulatorFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def gather_emulator(gather_emulator_factory: GatherEmulatorFactory) -> GatherEmulator:
    """The Gather emulator in-process, on a free port, with a temp data dir."""
    return gather_emulator_factory.start()


@pytest.fixture
def gather_emulator_process(tmp_path: Path) -> Iterator[GatherProcessFactory]:
    """A factory of Gather emulator subprocesses (for crash and restart tests)."""
    root = tmp_path / "gather-emulator-process"
    root.mkdir()
    factory = GatherProcessFactory(root)
    try:
        yield factory
    finally:
        factory.stop_all()
