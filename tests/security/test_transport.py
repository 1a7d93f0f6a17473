"""Transport security of both plugins: TLS certificates are always verified (no setting or
environment variable turns that off silently), and plain `http://` is refused for hosts other
than loopback unless explicitly allowed."""

from __future__ import annotations

import http.server
import json
import os
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN
from tests.target.conftest import COMPANIES_SCHEMA, company, encode_messages, state

TAP = str(BIN / "tap-hubspot-gather")
TARGET = str(BIN / "target-gather")
# Environment variables that switch verification off in some HTTP stacks (requests treats an
# empty CURL_CA_BUNDLE as "do not verify"; PYTHONHTTPSVERIFY=0 disables it for urllib).
VERIFY_OFF_ENV = {"PYTHONHTTPSVERIFY": "0", "CURL_CA_BUNDLE": "", "REQUESTS_CA_BUNDLE": ""}
REMOTE_HTTP = [
    "http://api.example.invalid",
    "http://localhost.example.invalid",
    "http://127.0.0.1.example.invalid",
    "http://10.0.0.1:8080",
]
SECRET = "transport-test-secret-value"


@dataclass
class TlsServer:
    """An HTTPS server on loopback with a self-signed certificate; answers 401 to everything."""

    url: str
    cert: Path
    requests: list[str]


class _Refuse(http.server.BaseHTTPRequestHandler):
    seen: list[str]

    def _answer(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        body = json.dumps({"status": "error", "message": "nope", "detail": "nope"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _answer  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    seen: list[str] = []
    handler = type("Handler", (_Refuse,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TlsServer(f"https://127.0.0.1:{server.server_address[1]}", cert, seen)
    finally:
        server.shutdown()
        server.server_close()


def plain_env(**extra: str) -> dict[str, str]:
    """The environment without plugin settings or CA bundles leaking in, plus `extra`."""
    drop = ("TAP_HUBSPOT_GATHER_", "TARGET_GATHER_", "SSL_CERT", "REQUESTS_CA", "CURL_CA")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(drop)}, **extra}


def run_tap(
    tmp_path: Path, config: dict[str, Any], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "tap-config.json"
    path.write_text(json.dumps({"access_token": SECRET, "max_retries": 0, **config}))
    return subprocess.run(
        [TAP, "--config", str(path), "--discover"],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip


def run_target(
    tmp_path: Path, config: dict[str, Any], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "target-config.json"
    settings = {
        "api_key": SECRET,
        "max_retries": 0,
        "ledger_path": str(tmp_path / "ledger.sqlite3"),
        "rejects_path": str(tmp_path / "rejects.jsonl"),
        **config,
    }
    path.write_text(json.dumps(settings))
    return subprocess.run(
        [TARGET, "--config", str(path)],
        input=encode_messages([COMPANIES_SCHEMA, company("1", "Acme"), state(n=1)]),
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("plugin", ["tap", "target"])
def test_an_untrusted_certificate_is_refused_whatever_the_environment_says(
    tls_server: TlsServer, tmp_path: Path, plugin: str
) -> None:
    runner = run_tap if plugin == "tap" else run_target
    before = len(tls_server.requests)

    refused = runner(tmp_path, {"api_url": tls_server.url}, plain_env(**VERIFY_OFF_ENV))
    assert refused.returncode != 0
    assert len(tls_server.requests) == before, "a request got through an unverified TLS session"
    assert "Traceback" not in refused.stderr[-2000:]
    assert SECRET not in refused.stdout + refused.stderr

    # Control: trusting the certificate (the supported way) reaches the server.
    trusted = runner(
        tmp_path, {"api_url": tls_server.url}, plain_env(SSL_CERT_FILE=str(tls_server.cert))
    )
    assert trusted.returncode != 0  # the server answers 401 to everything
    assert len(tls_server.requests) > before, trusted.stderr[-2000:]


@pytest.mark.parametrize("plugin", ["tap", "target"])
def test_no_setting_turns_certificate_verification_off(plugin: str) -> None:
    about = subprocess.run(
        [TAP if plugin == "tap" else TARGET, "--about", "--format=json"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    names = set(json.loads(about.stdout)["settings"]["properties"])
    suspicious = {n for n in names if any(w in n for w in ("verify", "ssl", "tls", "cert"))}
    assert not suspicious


@pytest.mark.parametrize("url", REMOTE_HTTP)
@pytest.mark.parametrize("plugin", ["tap", "target"])
def test_plain_http_to_a_remote_host_is_refused_naming_the_fix(
    tmp_path: Path, plugin: str, url: str
) -> None:
    runner = run_tap if plugin == "tap" else run_target
    result = runner(tmp_path, {"api_url": url}, plain_env())

    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert "http://" in message
    assert "https://" in message  # the fix
    assert "allow_insecure_http" in message
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("plugin", ["tap", "target"])
def test_plain_http_to_a_remote_host_passes_when_explicitly_allowed(
    tmp_path: Path, plugin: str
) -> None:
    runner = run_tap if plugin == "tap" else run_target
    config = {"api_url": "http://api.example.invalid", "allow_insecure_http": True}
    result = runner(tmp_path, config, plain_env())

    # Allowed: it tries to connect (the name does not resolve) instead of refusing.
    assert result.returncode != 0
    assert "allow_insecure_http" not in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("plugin", ["tap", "target"])
def test_plain_http_to_loopback_is_allowed(
    tmp_path: Path, plugin: str, hubspot_emulator: Any, gather_emulator: Any
) -> None:
    if plugin == "tap":
        result = run_tap(
            tmp_path,
            {"api_url": hubspot_emulator.url, "access_token": hubspot_emulator.token},
            plain_env(),
        )
    else:
        result = run_target(
            tmp_path,
            {"api_url": gather_emulator.url, "api_key": gather_emulator.api_key},
            plain_env(),
        )
    assert result.returncode == 0, result.stderr[-2000:]
