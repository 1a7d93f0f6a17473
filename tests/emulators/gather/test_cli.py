"""The ``gather-emulator`` console script: keys, storage options, clean stop."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import requests

from emulators.gather.pytest_plugin import GatherProcessFactory
from tests.conftest import BIN

CLI = [sys.executable, "-m", "emulators.gather.cli"]


def refused_start(*args: str, keys: str | None = "k") -> subprocess.CompletedProcess[str]:
    """Run the CLI with `args` (API keys from the env var unless `keys` is None), expecting it
    to refuse to start: exit 2 with its reason on stderr."""
    env = {k: v for k, v in os.environ.items() if k != "GATHER_EMULATOR_API_KEYS"}
    if keys is not None:
        env["GATHER_EMULATOR_API_KEYS"] = keys
    result = subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2, result.stderr
    return result


def test_prints_url_and_sigterm_stops_cleanly(
    gather_emulator_process: GatherProcessFactory,
) -> None:
    emulator = gather_emulator_process.start()
    assert emulator.url.startswith("http://127.0.0.1:")
    response = requests.post(
        f"{emulator.url}/models/account/records",
        json={"id": "a", "name": "A"},
        headers=emulator.auth_headers,
    )
    assert response.status_code == 201
    assert emulator.terminate() == 0
    wal = emulator.data_dir / "gather.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed on close
    log = emulator.log_path.read_text()
    assert emulator.api_key not in log
    assert "Traceback" not in log


def test_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    result = refused_start("--port", "0", "--in-memory", keys=None)
    assert "--api-key" in result.stderr
    assert "GATHER_EMULATOR_API_KEYS" in result.stderr


def test_keys_from_env_and_command_line_are_all_accepted(
    gather_emulator_process: GatherProcessFactory,
) -> None:
    emulator = gather_emulator_process.start(
        api_keys=["env-one", "env-two"], extra_args=["--api-key", "cli-key"]
    )
    url = f"{emulator.url}/models/orders/records"
    for key in ("env-one", "env-two", "cli-key"):
        response = requests.post(url, json={"id": key}, headers={"Authorization": f"Token {key}"})
        assert response.status_code == 201, key
    # One workspace shared by every key.
    assert set(emulator.records("orders")) == {"env-one", "env-two", "cli-key"}


def test_in_memory_keeps_no_file(
    gather_emulator_process: GatherProcessFactory, tmp_path: Path
) -> None:
    data_dir = tmp_path / "unused"
    emulator = gather_emulator_process.start(data_dir, in_memory=True)
    response = requests.post(
        f"{emulator.url}/models/orders/records", json={"id": "m"}, headers=emulator.auth_headers
    )
    assert response.status_code == 201
    assert set(emulator.records("orders")) == {"m"}
    assert requests.get(f"{emulator.url}/_emulator/health").json()["data"] == ":memory:"
    assert emulator.terminate() == 0
    assert not data_dir.exists()


def test_default_data_dir_is_relative_to_the_cwd(tmp_path: Path) -> None:
    env = {**os.environ, "GATHER_EMULATOR_API_KEYS": "k"}
    process = subprocess.Popen(
        [*CLI, "--port", "0"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Listening on http://127.0.0.1:")
        url = line.split()[-1]
        assert (
            requests.post(
                f"{url}/models/orders/records",
                json={"id": "x"},
                headers={"Authorization": "Token k"},
            ).status_code
            == 201
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0
    assert (tmp_path / ".emulators" / "gather" / "gather.sqlite3").exists()


def test_refuses_a_data_dir_of_another_schema_version(tmp_path: Path) -> None:
    data_dir = tmp_path / "old"
    data_dir.mkdir()
    with sqlite3.connect(data_dir / "gather.sqlite3") as db:
        db.execute("PRAGMA user_version = 99")
    result = refused_start("--port", "0", "--data-dir", str(data_dir))
    assert "schema version 99" in result.stderr
    assert "--data-dir" in result.stderr


def test_command_line_switches_rate_limit_update_rule_and_body_limit(
    gather_emulator_process: GatherProcessFactory,
) -> None:
    emulator = gather_emulator_process.start(
        extra_args=["--rate-limit", "0.5", "--require-traits-on-update", "--max-body-bytes", "200"]
    )
    url = f"{emulator.url}/models/account/records"
    headers = emulator.auth_headers
    assert requests.post(url, json={"id": "a", "name": "A"}, headers=headers).status_code == 201
    throttled = requests.post(url, json={"id": "a", "size": 1}, headers=headers)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    emulator.set_config(rate_limit_per_s=None)
    assert emulator.config()["require_traits_on_update"] is True
    partial = requests.post(url, json={"id": "a", "size": 1}, headers=headers)
    assert partial.json() == {"name": ["This field is required."]}
    big = requests.post(url, json={"id": "b", "name": "x" * 300}, headers=headers)
    assert big.status_code == 413
    assert "200-byte limit" in big.json()["detail"]


def test_rejects_a_non_positive_rate_limit() -> None:
    result = refused_start("--in-memory", "--rate-limit", "0")
    assert "--rate-limit must be > 0" in result.stderr


def test_console_script_serves_and_stops_on_sigint(tmp_path: Path) -> None:
    env = {**os.environ, "GATHER_EMULATOR_API_KEYS": "k"}
    process = subprocess.Popen(
        [str(BIN / "gather-emulator"), "--in-memory"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(f"{url}/_emulator/health").json()["ok"] is True
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert not (tmp_path / ".emulators").exists()
