"""OAuth on HubSpot's 2026-03 token endpoint: refresh, its errors, and rotated refresh tokens.

The emulator's `refresh_token_rotation` makes each refresh answer with a new refresh token and
(grace 0) the old one stop working at once: the worst case for a client.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from dotenv import dotenv_values

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.auth import OAuthRefresher
from tap_hubspot_gather.errors import HubSpotAuthError
from tap_hubspot_gather.refresh_store import REFRESH_TOKEN_VARIABLE, RefreshTokenStore
from tests.tap.harness import cli_command, parse_lines, run_tap

CONNECT = "meltano invoke tap-hubspot-gather:connect"
TOKEN_ROUTE = "POST /oauth/2026-03/token"


def token_routes(hubspot: HubSpotEmulator) -> dict[str, int]:
    """Calls per OAuth route template."""
    return {r: v["total"] for r, v in hubspot.stats()["routes"].items() if "/oauth/" in r}


def run_cli_in(
    folder: Path, settings: dict[str, Any], extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The tap's CLI with a config file, run in `folder` (where it looks for `.env`)."""
    config_path = folder / "config.json"
    config_path.write_text(json.dumps(settings))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_HUBSPOT_GATHER_")}
    env.pop("MELTANO_PROJECT_ROOT", None)
    return subprocess.run(
        cli_command(config_path),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=folder,
        env={**env, **(extra_env or {})},
    )


def test_refresh_uses_the_2026_03_token_endpoint_with_a_form_body_only(
    hubspot: HubSpotEmulator, oauth_config: dict[str, Any]
) -> None:
    hubspot.seed(companies=2, contacts=5)
    run = run_tap(oauth_config)
    assert len(run.records["contacts"]) == 5
    routes = token_routes(hubspot)
    assert set(routes) == {TOKEN_ROUTE}, routes
    # The emulator refuses credentials in the query string or a non-form body (400); none here.
    token = hubspot.stats()["routes"][TOKEN_ROUTE]["by_status"]
    assert set(token) == {"200"}


def test_a_revoked_refresh_token_says_to_run_connect_again(
    hubspot: HubSpotEmulator, oauth_config: dict[str, Any]
) -> None:
    with pytest.raises(HubSpotAuthError) as caught:
        run_tap({**oauth_config, "refresh_token": "revoked-refresh-token-value"})
    message = str(caught.value)
    assert "\n" not in message
    assert "invalid_grant" in message
    assert f"Run `{CONNECT}` again" in message
    assert "revoked-refresh-token-value" not in message


def test_a_wrong_client_secret_names_the_app_credentials(
    hubspot: HubSpotEmulator, oauth_config: dict[str, Any]
) -> None:
    with pytest.raises(HubSpotAuthError) as caught:
        run_tap({**oauth_config, "client_secret": "wrong-secret-CANARY-42"})
    message = str(caught.value)
    assert "\n" not in message
    assert "set client_id and client_secret" in message
    assert "CANARY" not in message


def test_a_rotated_refresh_token_is_written_back_to_the_env_file_connect_wrote(
    hubspot: HubSpotEmulator, oauth_config: dict[str, Any], tmp_path: Path
) -> None:
    hubspot.set_config(refresh_token_rotation=True, refresh_token_grace_s=0)
    hubspot.seed(companies=3, contacts=20)
    old = oauth_config["refresh_token"]
    env_file = tmp_path / ".env"
    env_file.write_text(f"TARGET_GATHER_API_KEY='keep-me'\n{REFRESH_TOKEN_VARIABLE}='{old}'\n")
    env_file.chmod(0o644)

    first = run_cli_in(tmp_path, oauth_config)

    assert first.returncode == 0, first.stderr[-2000:]
    assert len(parse_lines(first.stdout).records["contacts"]) == 20
    new = dotenv_values(env_file)[REFRESH_TOKEN_VARIABLE]
    assert new
    assert new != old
    assert dotenv_values(env_file)["TARGET_GATHER_API_KEY"] == "keep-me"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert f"stored in {env_file}" in first.stderr
    for secret in (old, new):
        assert secret not in first.stdout + first.stderr  # not in STATE, records or logs

    # The next run starts from the stored token (the old one no longer works) and syncs.
    second = run_cli_in(tmp_path, {**oauth_config, "refresh_token": new})
    assert second.returncode == 0, second.stderr[-2000:]
    assert dotenv_values(env_file)[REFRESH_TOKEN_VARIABLE] not in (old, new)
    stale = run_cli_in(tmp_path, oauth_config)
    assert stale.returncode != 0
    assert CONNECT in stale.stderr


def test_the_meltano_project_env_is_the_store_when_the_tap_runs_elsewhere(
    hubspot: HubSpotEmulator, oauth_config: dict[str, Any], tmp_path: Path
) -> None:
    hubspot.set_config(refresh_token_rotation=True)
    project, workdir = tmp_path / "project", tmp_path / "run"
    project.mkdir()
    workdir.mkdir()
    env_file = project / ".env"
    env_file.write_text(f"{REFRESH_TOKEN_VARIABLE}='{oauth_config['refresh_token']}'\n")

    run = run_cli_in(workdir, oauth_config, {"MELTANO_PROJECT_ROOT": str(project)})

    assert run.returncode == 0, run.stderr[-2000:]
    assert dotenv_values(env_file)[REFRESH_TOKEN_VARIABLE] != oauth_config["refresh_token"]


def test_without_a_store_a_rotation_stops_the_run_before_any_record(
    hubspot: HubSpotEmulator, oauth_config: dict[str, Any], tmp_path: Path
) -> None:
    hubspot.set_config(refresh_token_rotation=True, refresh_token_grace_s=3600)
    hubspot.seed(companies=3, contacts=20)
    # A .env exists but holds another token: not the source of this run's token.
    (tmp_path / ".env").write_text(f"{REFRESH_TOKEN_VARIABLE}='some-other-token'\n")

    run = run_cli_in(tmp_path, oauth_config)

    assert run.returncode != 0
    assert '"RECORD"' not in run.stdout
    errors = [line for line in run.stderr.splitlines() if "new refresh token" in line]
    assert errors, run.stderr[-2000:]
    assert f"Run `{CONNECT}` again" in errors[0]
    assert oauth_config["refresh_token"] not in run.stdout + run.stderr
    assert dotenv_values(tmp_path / ".env")[REFRESH_TOKEN_VARIABLE] == "some-other-token"


def test_a_store_that_cannot_be_written_stops_the_run_without_a_token(
    hubspot: HubSpotEmulator, oauth_config: dict[str, Any], tmp_path: Path
) -> None:
    hubspot.set_config(refresh_token_rotation=True, refresh_token_grace_s=3600)
    old = oauth_config["refresh_token"]
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be\n")  # fails even for root
    refresher = OAuthRefresher(
        hubspot.url,
        oauth_config["client_id"],
        oauth_config["client_secret"],
        old,
        store=RefreshTokenStore(blocker / ".env"),
    )
    with pytest.raises(HubSpotAuthError, match="could not be written") as caught:
        refresher.token()
    message = str(caught.value)
    assert "\n" not in message
    assert CONNECT in message
    assert old not in message
    assert refresher.secrets
    assert all(s not in message for s in refresher.secrets)


def test_the_store_is_only_a_env_holding_exactly_the_configured_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    env_file = project / ".env"
    env_file.write_text(f"{REFRESH_TOKEN_VARIABLE}='abc-123'\n")
    monkeypatch.chdir(elsewhere)
    in_project = {"MELTANO_PROJECT_ROOT": str(project)}
    assert RefreshTokenStore.find("abc-123", in_project) == RefreshTokenStore(env_file.resolve())
    assert RefreshTokenStore.find("abc-1234", in_project) is None
    assert RefreshTokenStore.find("abc-123", {}) is None
    monkeypatch.chdir(project)  # Meltano runs plugins in the project folder
    assert RefreshTokenStore.find("abc-123", {}) == RefreshTokenStore(env_file.resolve())
