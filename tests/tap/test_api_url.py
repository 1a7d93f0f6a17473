"""`api_url` is checked once, when the client is built: a malformed URL fails at once (never
retried as a dropped connection), plain http only to loopback unless `allow_insecure_http`,
and TLS certificates are always verified."""

from __future__ import annotations

import http.server
import json
import logging
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.auth import StaticToken
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.errors import HubSpotError
from tap_hubspot_gather.tap import TapHubspotGather
from tests.tap.harness import cli_command, run_cli

TOKEN = "pat-na1-test-token-0000"
MALFORMED = [
    "api.hubapi.com",
    "localhost:8080",
    "https://",
    "https:///crm",
    "/crm",
    "ftp://api.hubapi.com",
    "http://[::1",
    "http://127.0.0.1:99999",
    "https://api.hubapi.com?portal=1",
    "https://api hubapi.com",
]


@pytest.mark.parametrize("api_url", MALFORMED)
def test_a_malformed_api_url_is_refused_when_the_client_is_built(api_url: str) -> None:
    with pytest.raises(HubSpotError) as raised:
        HubSpotClient.from_config({"api_url": api_url, "access_token": TOKEN})
    message = str(raised.value)
    assert "api_url" in message
    assert "https://api.hubapi.com" in message  # the fix
    assert TOKEN not in message


def test_credentials_inside_a_malformed_api_url_are_not_echoed() -> None:
    with pytest.raises(HubSpotError) as raised:
        HubSpotClient.from_config({"api_url": "ftp://me:hunter22@host", "access_token": TOKEN})
    assert "hunter22" not in str(raised.value)


def test_the_tap_fails_at_once_on_an_api_url_without_scheme(
    hubspot: HubSpotEmulator, config: dict[str, Any], tmp_path: Path
) -> None:
    settings = {**config, "api_url": hubspot.url.removeprefix("http://"), "max_retries": 8}
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(settings))
    run = run_cli(config_path)
    assert run.returncode != 0
    assert "api_url" in run.stderr
    assert "retry" not in run.stderr  # refused before any request, not retried
    assert hubspot.stats()["total"] == 0


def test_a_request_urllib3_cannot_send_fails_without_retries(hubspot: HubSpotEmulator) -> None:
    """A URL urllib3 refuses (LocationValueError) is not a dropped connection."""
    sleeps: list[float] = []  # the clock hook: any retry would sleep first
    client = HubSpotClient(hubspot.url, StaticToken(hubspot.token), sleep=sleeps.append)
    with pytest.raises(HubSpotError, match="api_url"):
        client.get("99999/crm/v3/properties/contacts")  # the path spills into the port
    assert sleeps == []
    assert client.stats.retries == 0


@pytest.mark.parametrize(
    "api_url", ["http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1", "http://127.9.9.9"]
)
def test_plain_http_to_loopback_is_allowed(api_url: str) -> None:
    client = HubSpotClient.from_config({"api_url": api_url, "access_token": TOKEN})
    assert client.api_url == api_url


@pytest.mark.parametrize("api_url", ["http://api.hubapi.com", "http://10.0.0.5:8080/hubspot"])
def test_plain_http_to_another_host_is_refused_unless_allowed(
    api_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(HubSpotError) as raised:
        HubSpotClient.from_config({"api_url": api_url, "access_token": TOKEN})
    assert "allow_insecure_http" in str(raised.value)
    assert "https://" in str(raised.value)
    with caplog.at_level(logging.WARNING):
        client = HubSpotClient.from_config(
            {"api_url": api_url, "access_token": TOKEN, "allow_insecure_http": True}
        )
    assert client.api_url == api_url
    assert any("unencrypted" in r.getMessage() for r in caplog.records)  # never silent


def test_the_tap_passes_allow_insecure_http_to_its_client_off_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no project .env for the SDK's ENV reader
    remote = {"api_url": "http://hubspot.internal:8080", "access_token": TOKEN}
    tap = TapHubspotGather(config=remote, setup_mapper=False)
    with pytest.raises(HubSpotError, match="allow_insecure_http"):
        _ = tap.client
    monkeypatch.setenv("TAP_HUBSPOT_GATHER_ALLOW_INSECURE_HTTP", "true")
    allowed = TapHubspotGather(config=remote, parse_env_config=True, setup_mapper=False)
    assert allowed.client.api_url == remote["api_url"]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"results": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def self_signed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An https server on 127.0.0.1 whose certificate no CA vouches for."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# Variables that turn TLS verification off in other tools (curl, requests, old Pythons).
VERIFY_OFF_ENV = {
    "PYTHONHTTPSVERIFY": "0",
    "CURL_CA_BUNDLE": "",
    "REQUESTS_CA_BUNDLE": "",
    "SSL_CERT_FILE": "",
    "NODE_TLS_REJECT_UNAUTHORIZED": "0",
}


def test_https_to_a_self_signed_server_fails_with_a_certificate_error_without_retries(
    self_signed_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in VERIFY_OFF_ENV.items():
        monkeypatch.setenv(name, value)
    sleeps: list[float] = []
    client = HubSpotClient(self_signed_server, StaticToken(TOKEN), sleep=sleeps.append)
    with pytest.raises(HubSpotError) as raised:
        client.get("/crm/properties/2026-09/contacts")
    message = str(raised.value)
    assert "certificate" in message.lower()
    assert "SSL_CERT_FILE" in message or "REQUESTS_CA_BUNDLE" in message  # the fix
    assert TOKEN not in message
    assert sleeps == []  # a certificate does not get better by retrying


def test_the_tap_cli_refuses_a_self_signed_server_whatever_the_environment(
    self_signed_server: str, tmp_path: Path
) -> None:
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps({"api_url": self_signed_server, "access_token": TOKEN}))
    env = {**os.environ, **VERIFY_OFF_ENV}
    run = subprocess.run(
        cli_command(config_path), capture_output=True, text=True, check=False, timeout=120, env=env
    )
    assert run.returncode != 0
    assert "certificate" in run.stderr.lower()
    assert '"type": "RECORD"' not in run.stdout
