"""Separate workspaces: each key sees only its own workspace's records, counts and events.

One emulator can then stand in for many Gather teams (the orchestration tests run several
tenants against one emulator, one workspace each).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from emulators.gather.app import make_app
from emulators.gather.pytest_plugin import GatherEmulatorFactory, GatherProcessFactory

CLI = [sys.executable, "-m", "emulators.gather.cli"]


def _post(url: str, key: str, model: str, body: dict[str, object]) -> requests.Response:
    return requests.post(
        f"{url}/models/{model}/records",
        json=body,
        headers={"Authorization": f"Token {key}"},
        timeout=10,
    )


def test_each_key_writes_and_reads_only_its_own_workspace(
    gather_emulator_factory: GatherEmulatorFactory,
) -> None:
    emulator = gather_emulator_factory.start(
        api_keys=["shared-key"], workspaces={"team-a": ["key-a", "key-a2"], "team-b": ["key-b"]}
    )
    assert _post(emulator.url, "key-a", "account", {"id": "1", "name": "A"}).status_code == 201
    # The same id in another workspace is a create, not an update of team-a's record.
    assert _post(emulator.url, "key-b", "account", {"id": "1", "name": "B"}).status_code == 201
    # A second key of team-a updates team-a's record.
    assert _post(emulator.url, "key-a2", "account", {"id": "1", "city": "X"}).status_code == 200

    assert emulator.records("account", workspace="team-a") == {"1": {"name": "A", "city": "X"}}
    assert emulator.records("account", workspace="team-b") == {"1": {"name": "B"}}
    assert emulator.records("account", workspace="default") == {}
    read_b = requests.get(
        emulator.record_url("account", "1"), headers={"Authorization": "Token key-b"}, timeout=10
    )
    assert read_b.json()["name"] == "B"

    stats = emulator.stats()
    assert stats["records"]["account"]["creates"] == 2
    assert stats["workspaces"]["team-a"]["records"]["account"] == {
        "creates": 1,
        "updates": 1,
        "deletes": 0,
        "delete_misses": 0,
        "rejected": 0,
    }
    assert emulator.stats(workspace="team-b")["records"]["account"]["updates"] == 0


def test_admin_reads_must_name_the_workspace_when_there_are_several(
    gather_emulator_factory: GatherEmulatorFactory,
) -> None:
    emulator = gather_emulator_factory.start(api_keys=[], workspaces={"a": ["ka"], "b": ["kb"]})
    response = requests.get(f"{emulator.url}/_emulator/records/account", timeout=10)
    assert response.status_code == 400
    assert "?workspace=" in response.json()["detail"]
    assert "a, b" in response.json()["detail"]
    unknown = requests.get(f"{emulator.url}/_emulator/events?workspace=zz", timeout=10)
    assert unknown.status_code == 400
    assert "'zz'" in unknown.json()["detail"]


def test_reset_empties_every_workspace(gather_emulator_factory: GatherEmulatorFactory) -> None:
    emulator = gather_emulator_factory.start(workspaces={"a": ["ka"]})
    _post(emulator.url, "ka", "account", {"id": "1", "name": "A"})
    _post(emulator.url, emulator.api_key, "account", {"id": "2", "name": "D"})
    emulator.reset()
    assert emulator.records("account", workspace="a") == {}
    assert emulator.records("account", workspace="default") == {}


@pytest.mark.parametrize(
    ("workspaces", "problem"),
    [
        ({"a": ["secret-1"], "b": ["secret-1"]}, "already used by another workspace"),
        ({"../x": ["secret-1"]}, "not allowed"),
        ({"default": ["secret-1"]}, "not allowed"),
        ({"a": []}, "has no API key"),
    ],
)
def test_bad_workspaces_are_refused_without_echoing_keys(
    workspaces: dict[str, list[str]], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        make_app([], None, workspaces=workspaces)
    assert "secret-1" not in str(caught.value)


def test_cli_workspaces_keep_their_data_in_their_own_folders(
    gather_emulator_process: GatherProcessFactory,
) -> None:
    emulator = gather_emulator_process.start(extra_args=["--workspace", "team-a:key-a"])
    assert (
        _post(
            emulator.url,
            "key-a",
            "user",
            {"id": "u", "first_name": "F", "last_name": "L", "email": "f@l.example"},
        ).status_code
        == 201
    )
    assert emulator.records("user", workspace="team-a") == {
        "u": {"first_name": "F", "last_name": "L", "email": "f@l.example"}
    }
    assert emulator.records("user", workspace="default") == {}
    assert (emulator.data_dir / "workspaces" / "team-a" / "gather.sqlite3").exists()
    assert emulator.terminate() == 0


def test_cli_refuses_a_malformed_workspace_without_echoing_it() -> None:
    env = {**os.environ, "GATHER_EMULATOR_WORKSPACES": "team-a-secretkey"}
    env.pop("GATHER_EMULATOR_API_KEYS", None)
    result = subprocess.run(
        [*CLI, "--port", "0", "--in-memory"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "NAME:KEY" in result.stderr
    assert "secretkey" not in result.stderr
