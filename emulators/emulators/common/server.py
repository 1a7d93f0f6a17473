"""Serve an aiohttp app on loopback, in the foreground (CLI) or in a background thread (tests)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

LOOPBACK = "127.0.0.1"
# aiohttp's default keep-alive timeout (75 s) keeps idle benchmark connections open for
# longer than any client waits; 15 s is plenty and frees sockets between test cases.
KEEPALIVE_TIMEOUT_S = 15.0


async def _start(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=KEEPALIVE_TIMEOUT_S)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    return runner, f"http://{shown_host}:{bound_port}"


def serve_forever(
    app: web.Application, host: str, port: int, on_bound: Callable[[str], None] | None = None
) -> None:
    """Serve until SIGINT/SIGTERM; print (or hand to `on_bound`) the base URL once bound."""

    async def main() -> None:
        runner, url = await _start(app, host, port)
        if on_bound is not None:
            on_bound(url)
        else:
            print(f"Listening on {url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    sys.stdout.flush()


@dataclass
class BackgroundServer:
    """An app served from its own thread and event loop; `url` is set once it is bound."""

    app: web.Application
    host: str = LOOPBACK
    port: int = 0
    url: str = ""
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _runner: web.AppRunner | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> BackgroundServer:
        """Start serving and block until the socket is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._runner, self.url = loop.run_until_complete(
                    _start(self.app, self.host, self.port)
                )
            except BaseException as exc:  # handed to the starting thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="emulator-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def call(self, func: Callable[[], object]) -> object:
        """Run `func` on the server's loop thread (for state shared with request handlers)."""
        if self._loop is None:
            msg = "server is not running"
            raise RuntimeError(msg)

        async def wrapper() -> object:
            return func()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result()

    def stop(self) -> None:
        """Stop serving and wait for the thread to finish."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = None
        self._thread = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
