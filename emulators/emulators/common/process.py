"""Run an emulator as a subprocess and wait for its URL: for the demo, benchmarks and tests
that need a real process (to kill it, or to keep its load off the caller's interpreter)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

App = Literal["hubspot", "gather"]
LISTENING = re.compile(r"Listening on (http://\S+)")
# A cold interpreter imports aiohttp in well under a second; seeding 100,000 contacts takes a
# few seconds more. Leave room for a loaded CI machine.
STARTUP_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.02


class EmulatorStartError(RuntimeError):
    """The emulator exited or never printed its URL; the message carries its log."""


@dataclass
class EmulatorProcess:
    """A running emulator: its process, URL, start-up time and log file."""

    process: subprocess.Popen[bytes]
    url: str
    startup_s: float
    log_path: Path

    def stop(self) -> None:
        """SIGTERM (a clean shutdown), then SIGKILL if it does not exit in time."""
        stop_process(self.process)

    def kill(self) -> None:
        """SIGKILL, as a crash would; waits for the exit."""
        self.process.kill()
        self.process.wait()


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate `process`, killing it when it does not exit within `STOP_TIMEOUT_S`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_emulator(
    app: App,
    args: Sequence[str] = (),
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    timeout_s: float = STARTUP_TIMEOUT_S,
) -> EmulatorProcess:
    """Start `python -m emulators.<app>.cli --port 0 <args>`, logging to `log_path`, and wait
    until it prints the URL it listens on. Credentials belong in `env`, never in `args`."""
    command = [sys.executable, "-m", f"emulators.{app}.cli", "--port", "0", *args]
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own module, run by this interpreter
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
    while time.monotonic() - started < timeout_s:
        match = LISTENING.search(log_path.read_text(errors="replace"))
        if match:
            return EmulatorProcess(process, match.group(1), time.monotonic() - started, log_path)
        if process.poll() is not None:
            break
        time.sleep(POLL_INTERVAL_S)
    stop_process(process)
    msg = f"the {app} emulator did not start; its log ({log_path}):\n{log_path.read_text()}"
    raise EmulatorStartError(msg)


@contextmanager
def running_emulator(
    app: App,
    args: Sequence[str] = (),
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
) -> Iterator[EmulatorProcess]:
    """`start_emulator` as a context manager that always stops it (also on Ctrl-C)."""
    emulator = start_emulator(app, args, log_path=log_path, env=env)
    try:
        yield emulator
    finally:
        emulator.stop()
