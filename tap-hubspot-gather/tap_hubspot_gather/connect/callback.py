"""The loopback listener HubSpot redirects the browser to after the consent page.

HubSpot accepts a plain-http redirect URL only for localhost
(https://developers.hubspot.com/docs/api/working-with-oauth), so the listener binds the loopback
interface on the port of the registered redirect URL and waits for one request on its path. It
checks `state` (a mismatch is refused: the redirect was not for this run), tells the browser in
a short page what happened, and hands the code, or HubSpot's error, to the caller.

The listener closes each connection after answering, so the port's side of the last redirect
stays in TIME-WAIT for a minute or so. It sets `SO_REUSEADDR`, so `connect` can be run again at
once on the same fixed port; on Linux and macOS that option never lets two sockets *listen* on
one port, so a second `connect` running at the same time is still refused. Windows gives
`SO_REUSEADDR` another meaning (sharing a listening port), so there the listener asks for
`SO_EXCLUSIVEADDRUSE` instead, which Windows' own TIME-WAIT handling does not block.
"""

from __future__ import annotations

import errno
import html
import os
import secrets
import socket
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

from tap_hubspot_gather.connect.oauth import ConnectError

LOOPBACK = "127.0.0.1"
# How often the wait loop wakes to check its deadline.
POLL_S = 0.25
_PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head>"
    "<body><h1>{title}</h1><p>{text}</p></body></html>"
)


@dataclass(frozen=True)
class Redirect:
    """What arrived on the callback path: a code, or HubSpot's error."""

    code: str = ""
    error: str = ""
    description: str = ""


class _Server(HTTPServer):
    """Keeps what the handler learned; rebinds a port in TIME-WAIT, never a listening one."""

    # Set by `server_bind` itself, per platform (see the module docstring).
    allow_reuse_address = False
    allow_reuse_port = False

    def __init__(self, port: int, path: str, state: str) -> None:
        super().__init__((LOOPBACK, port), _Handler)
        self.path = path
        self.state = state
        self.result: Redirect | None = None
        self.wrong_state = False

    def server_bind(self) -> None:
        """Bind with the address-reuse option that allows a quick rerun but no second
        listener."""
        exclusive = getattr(socket, "SO_EXCLUSIVEADDRUSE", None)
        if os.name == "nt" and exclusive is not None:
            self.socket.setsockopt(socket.SOL_SOCKET, exclusive, 1)
        else:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        super().server_bind()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # A browser may open a connection and send nothing (a preconnect): drop it after this long
    # instead of blocking the single-threaded wait.
    timeout = 5.0

    def do_GET(self) -> None:
        """The redirect: check the path and state, record the outcome, answer the browser."""
        parts = urlsplit(self.path)
        if parts.path != self.server.path:
            self._answer(404, "Not found", "This is not the HubSpot connect callback.")
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if not secrets.compare_digest(query.get("state", ""), self.server.state):
            self.server.wrong_state = True
            self._answer(
                400,
                "Connection refused",
                "This answer was not for the connect command that is waiting (state mismatch). "
                "Run connect again and use the link it prints.",
            )
            return
        if query.get("code"):
            self.server.result = Redirect(code=query["code"])
            self._answer(200, "Connected", "HubSpot is connected. You can close this window.")
            return
        error = query.get("error") or "no_code"
        self.server.result = Redirect(error=error, description=query.get("error_description", ""))
        self._answer(200, "Not connected", "The app was not connected. You can close this window.")

    def _answer(self, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the request line holds the authorization code."""


class CallbackListener:
    """Listens on http://localhost:<port><path> for HubSpot's redirect."""

    def __init__(self, port: int, path: str, state: str) -> None:
        try:
            self._server = _Server(port, path, state)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                msg = (
                    f"Cannot listen on localhost port {port} for HubSpot's redirect: it is in "
                    "use, by another connect still waiting for its redirect (finish or stop that "
                    "one first) or by another program (stop it, or register another port in "
                    "your app's redirect URLs and pass it with --port)."
                )
            else:
                msg = (
                    f"Cannot listen on localhost port {port} for HubSpot's redirect "
                    f"({exc.strerror}): register another port in your app's redirect URLs and "
                    "pass it with --port."
                )
            raise ConnectError(msg) from None
        self._server.timeout = POLL_S
        self.port = self._server.server_address[1]
        self.path = path

    @property
    def redirect_uri(self) -> str:
        """The URL to register in the app and send in the authorize request."""
        return f"http://localhost:{self.port}{self.path}"

    def wait(self, timeout_s: float) -> Redirect:
        """Serve until the redirect arrives or `timeout_s` passes (then `TimeoutError`)."""
        deadline = time.monotonic() + timeout_s
        while self._server.result is None:
            if time.monotonic() >= deadline:
                raise TimeoutError
            self._server.handle_request()
        return self._server.result

    @property
    def refused_wrong_state(self) -> bool:
        """Whether a redirect with another run's state arrived (and was refused)."""
        return self._server.wrong_state

    def close(self) -> None:
        """Stop listening."""
        self._server.server_close()
