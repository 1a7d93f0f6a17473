"""`tap-hubspot-gather-connect` against the HubSpot emulator's consent page, over HTTP: the
command runs as a process, the test plays the user's browser."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from emulators.hubspot.auth import HUB_DOMAIN, HUB_ID
from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.check import main as check_main
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.connect import main as connect_main
from tap_hubspot_gather.connect.oauth import (
    REQUIRED_SCOPES,
    ConnectError,
    OAuthApp,
    Pkce,
    authorize_base,
    authorize_url,
)
from tests.conftest import ROOT
from tests.connect.conftest import (
    HTTP_TIMEOUT_S,
    connect_env,
    consent_form,
    decide,
    start_connect,
)

VARIABLE = "TAP_HUBSPOT_GATHER_REFRESH_TOKEN"


def _stored_token(env_file: Path) -> str:
    lines = [ln for ln in env_file.read_text().splitlines() if ln.startswith(VARIABLE + "=")]
    assert len(lines) == 1, env_file.read_text()
    return lines[0].split("=", 1)[1].strip("'")


def test_approving_stores_a_working_refresh_token_and_names_portal_scopes_and_next_step(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("TARGET_GATHER_API_KEY='keep-me'\nTAP_HUBSPOT_GATHER_REFRESH_TOKEN=old\n")
    run = start_connect(connect_env(hubspot), env_file)

    query = parse_qs(urlsplit(run.url).query)
    assert query["scope"] == [" ".join(REQUIRED_SCOPES)]
    assert query["redirect_uri"][0].startswith("http://localhost:")
    assert len(query["state"][0]) >= 32
    landing = decide(run.url, "connect")
    assert landing.status_code == 200
    assert "HubSpot is connected" in landing.text

    assert run.finish() == 0, run.stderr
    assert f"connected to HubSpot portal {HUB_ID} ({HUB_DOMAIN})" in run.stdout
    assert "granted scopes: " + ", ".join(sorted(REQUIRED_SCOPES)) in run.stdout
    assert f"stored in {env_file} as {VARIABLE}" in run.stdout
    assert (
        run.stdout.strip()
        .splitlines()[-1]
        .endswith("meltano invoke tap-hubspot-gather:check --format text")
    )
    token = _stored_token(env_file)
    assert token not in run.stdout + run.stderr
    assert "TARGET_GATHER_API_KEY='keep-me'" in env_file.read_text()

    # The stored token alone (no access token) reads the portal through the tap's client.
    client = HubSpotClient.from_config(
        {
            "api_url": hubspot.url,
            "client_id": hubspot.oauth_client.client_id,
            "client_secret": hubspot.oauth_client.client_secret,
            "refresh_token": token,
        }
    )
    assert client.get("/crm/objects/2026-09/contacts")["results"] == []


@pytest.mark.parametrize(
    "version",
    ["2026-09", pytest.param("v3", marks=pytest.mark.hubspot_emulator(legacy_apis=True))],
)
def test_connect_uses_pkce_the_2026_03_oauth_endpoints_and_the_configured_api_version(
    hubspot: HubSpotEmulator, tmp_path: Path, version: str
) -> None:
    run = start_connect(connect_env(hubspot, api_version=version), tmp_path / ".env")
    query = parse_qs(urlsplit(run.url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43  # BASE64URL of a SHA-256, unpadded
    decide(run.url, "connect")
    assert run.finish() == 0, run.stderr

    routes = {r: v["by_status"] for r, v in hubspot.stats()["routes"].items()}
    assert routes["POST /oauth/2026-03/token"] == {"200": 1}
    assert routes["POST /oauth/2026-03/token/introspect"] == {"200": 1}
    assert not [r for r in routes if "/oauth/v1/" in r]
    # One read with the new token, on the configured version, proves it works there.
    crm = [r for r in routes if " /crm/" in r]
    expected = "/crm/v3/objects/" if version == "v3" else "/crm/objects/{version}/"
    assert len(crm) == 1
    assert expected in crm[0]


def test_an_unknown_api_version_stops_connect_before_the_browser(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    code, line = _exits_early(
        connect_env(hubspot, api_version="2025-09"), "--env-file", str(tmp_path / ".env")
    )
    assert code == 2
    assert "api_version '2025-09'" in line
    assert "2026-09, 2026-03, v3" in line
    assert hubspot.stats()["total"] == 0


def test_by_default_the_users_browser_opens_the_consent_page(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    """$BROWSER (honoured by Python's webbrowser) is a stand-in browser that clicks Connect."""
    browser = tmp_path / "browser"
    browser.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from tests.connect.conftest import decide\n"
        "decide(sys.argv[1], 'connect')\n"
    )
    browser.chmod(0o755)
    env = {**connect_env(hubspot), "BROWSER": str(browser)}
    run = start_connect(env, tmp_path / ".env", browser=True)
    assert run.finish() == 0, run.stderr
    assert "no browser could be opened" not in run.stdout
    assert _stored_token(tmp_path / ".env")


def test_a_new_env_file_is_private(hubspot: HubSpotEmulator, tmp_path: Path) -> None:
    env_file = tmp_path / "project" / ".env"
    run = start_connect(connect_env(hubspot), env_file)
    decide(run.url, "connect")
    assert run.finish() == 0, run.stderr
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_settings_can_come_from_the_taps_config_file(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    config = tmp_path / "tap-config.json"
    client = hubspot.oauth_client
    config.write_text(
        json.dumps(
            {
                "api_url": hubspot.url,
                "client_id": client.client_id,
                "client_secret": client.client_secret,
            }
        )
    )
    env = {k: v for k, v in connect_env(hubspot).items() if not k.startswith("TAP_HUBSPOT")}
    run = start_connect(env, tmp_path / ".env", "--config", str(config))
    assert run.url.startswith(hubspot.url + "/oauth/authorize?client_id=" + client.client_id)
    decide(run.url, "connect")
    assert run.finish() == 0, run.stderr
    assert _stored_token(tmp_path / ".env")


def test_cancel_ends_with_one_clear_line_and_stores_nothing(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    run = start_connect(connect_env(hubspot), env_file)
    assert "not connected" in decide(run.url, "cancel").text.lower()
    assert run.finish() == 1
    assert run.stderr.strip().splitlines() == [
        "connect: not connected: You cancelled on HubSpot's page: nothing was connected or stored."
    ]
    assert not env_file.exists()


def test_a_missing_scope_is_named_and_nothing_is_stored(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    hubspot.configure_consent(withheld_scopes=["crm.schemas.companies.read"])
    env_file = tmp_path / ".env"
    run = start_connect(connect_env(hubspot), env_file)
    decide(run.url, "connect")
    assert run.finish() == 1
    assert "lacks the scope(s) crm.schemas.companies.read" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not env_file.exists()


def test_a_redirect_url_the_app_did_not_register_ends_in_a_line_saying_how_to_fix_it(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    hubspot.configure_consent(redirect_uris=["http://localhost:1/oauth-callback"])
    run = start_connect(connect_env(hubspot), tmp_path / ".env", "--timeout", "2")
    page = requests.get(run.url, timeout=HTTP_TIMEOUT_S)
    assert page.status_code == 400
    assert "does not match" in page.text
    assert run.finish() == 1
    [line] = run.stderr.strip().splitlines()
    assert "Nothing came back within 2 s" in line
    assert "to your app's Redirect URLs" in line


def test_a_redirect_for_another_run_is_refused(hubspot: HubSpotEmulator, tmp_path: Path) -> None:
    run = start_connect(connect_env(hubspot), tmp_path / ".env", "--timeout", "3")
    redirect_uri = parse_qs(urlsplit(run.url).query)["redirect_uri"][0]
    forged = requests.get(redirect_uri, params={"code": "x", "state": "other"}, timeout=10)
    assert forged.status_code == 400
    assert run.finish() == 1
    assert "its state did not match" in run.stderr
    assert not (tmp_path / ".env").exists()


def _approved_code(hubspot: HubSpotEmulator, redirect_uri: str, pkce: Pkce) -> str:
    """Approve the app on the emulator's consent page as a browser would; the code."""
    client = hubspot.oauth_client
    url = authorize_url(f"{hubspot.url}/oauth/authorize", client.client_id, redirect_uri, "s", pkce)
    target, fields = consent_form(url)
    answer = requests.post(
        target, data={**fields, "decision": "connect"}, allow_redirects=False, timeout=10
    )
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def test_a_reused_code_is_one_clear_line(hubspot: HubSpotEmulator) -> None:
    client = hubspot.oauth_client
    app = OAuthApp(hubspot.url, client.client_id, client.client_secret)
    redirect_uri = "http://localhost:1/oauth-callback"
    pkce = Pkce.new()
    code = _approved_code(hubspot, redirect_uri, pkce)
    app.exchange(code, redirect_uri, pkce)
    with pytest.raises(ConnectError) as refused:
        app.exchange(code, redirect_uri, pkce)
    message = str(refused.value)
    assert "a code works once" in message
    assert code not in message
    assert client.client_secret not in message


def test_a_code_with_another_runs_pkce_verifier_is_refused_in_one_line(
    hubspot: HubSpotEmulator,
) -> None:
    client = hubspot.oauth_client
    app = OAuthApp(hubspot.url, client.client_id, client.client_secret)
    redirect_uri = "http://localhost:1/oauth-callback"
    code = _approved_code(hubspot, redirect_uri, Pkce.new())
    other = Pkce.new()
    with pytest.raises(ConnectError) as refused:
        app.exchange(code, redirect_uri, other)
    message = str(refused.value)
    assert "\n" not in message
    assert "Run connect again" in message
    assert other.verifier not in message
    assert code not in message


def test_the_pkce_challenge_is_the_s256_of_the_verifier() -> None:
    # RFC 7636 appendix B's example pair.
    pkce = Pkce("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    assert pkce.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    fresh = Pkce.new()
    assert 43 <= len(fresh.verifier) <= 128
    assert fresh.verifier != Pkce.new().verifier


def _exits_early(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run connect that fails before printing a URL: exit code and its one stderr line."""
    command = [sys.executable, "-m", "tap_hubspot_gather.connect", "--no-browser", *args]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    [line] = result.stderr.strip().splitlines()
    return result.returncode, line


def test_a_redirect_url_other_than_the_codes_is_one_line_saying_where_to_register_it(
    hubspot: HubSpotEmulator,
) -> None:
    client = hubspot.oauth_client
    app = OAuthApp(hubspot.url, client.client_id, client.client_secret)
    pkce = Pkce.new()
    code = _approved_code(hubspot, "http://localhost:1/oauth-callback", pkce)
    with pytest.raises(ConnectError) as refused:
        app.exchange(code, "http://localhost:2/oauth-callback", pkce)
    assert "must be exactly one of your app's redirect URLs" in str(refused.value)


def test_missing_app_credentials_cannot_start(hubspot: HubSpotEmulator, tmp_path: Path) -> None:
    env = connect_env(hubspot)
    del env["TAP_HUBSPOT_GATHER_CLIENT_SECRET"]
    code, line = _exits_early(env, "--env-file", str(tmp_path / ".env"))
    assert code == 2
    assert "needs your OAuth app's client_secret" in line


def test_a_busy_port_cannot_start(hubspot: HubSpotEmulator, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, line = _exits_early(connect_env(hubspot), "--port", str(port))
    assert code == 2
    assert f"Cannot listen on localhost port {port}" in line


def _free_port() -> int:
    """A loopback port nothing listens on now (the fixed port a user registers)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_connect_runs_again_at_once_on_the_same_fixed_port(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    """The listener closes the redirect's connection first, leaving the port in TIME-WAIT: a
    listener without SO_REUSEADDR could not bind it again for about a minute."""
    port = _free_port()
    env_file = tmp_path / ".env"
    tokens = []
    for _ in range(2):
        run = start_connect(connect_env(hubspot), env_file, "--port", str(port))
        assert parse_qs(urlsplit(run.url).query)["redirect_uri"] == [
            f"http://localhost:{port}/oauth-callback"
        ]
        assert decide(run.url, "connect").status_code == 200
        assert run.finish() == 0, run.stderr
        tokens.append(_stored_token(env_file))
    assert tokens[0] != tokens[1]


def test_a_second_connect_at_the_same_time_is_refused_and_the_first_still_connects(
    hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    port = _free_port()
    env_file = tmp_path / ".env"
    first = start_connect(connect_env(hubspot), env_file, "--port", str(port))

    code, line = _exits_early(
        connect_env(hubspot), "--port", str(port), "--env-file", str(tmp_path / "other.env")
    )

    assert code == 2
    assert f"Cannot listen on localhost port {port}" in line
    assert "another connect still waiting" in line
    assert not (tmp_path / "other.env").exists()
    assert decide(first.url, "connect").status_code == 200
    assert first.finish() == 0, first.stderr
    assert _stored_token(env_file)


@pytest.mark.parametrize(
    ("api_url", "expected"),
    [
        ("https://api.hubapi.com", "https://app.hubspot.com/oauth/authorize"),
        ("https://api.hubapi.com/", "https://app.hubspot.com/oauth/authorize"),
        ("https://api-eu1.hubapi.com", "https://app-eu1.hubspot.com/oauth/authorize"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/oauth/authorize"),
    ],
)
def test_the_authorize_page_derives_from_api_url(api_url: str, expected: str) -> None:
    assert authorize_base(api_url) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist: pass the tap's config file or ENV."),
        ("{not json", "is not readable JSON (JSONDecodeError): fix or replace it."),
        ("[1, 2]", "must hold a JSON object of settings."),
    ],
)
def test_an_unusable_settings_file_stops_connect_and_check_with_the_same_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, expected: str
) -> None:
    """Both commands read `--config` through one reader: same sources, same messages."""
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    capsys.readouterr()

    assert connect_main(["--config", str(path), "--no-browser"]) == 2
    assert capsys.readouterr().err == f"connect: cannot start: Settings file {path} {expected}\n"
    assert check_main(["--config", str(path), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"check: could not check the portal: Settings file {path} {expected}\n"
    )
