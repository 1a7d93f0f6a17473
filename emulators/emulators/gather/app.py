"""Build the Gather emulator's aiohttp application."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from aiohttp import web

from emulators.common.faults import fault_middleware
from emulators.common.stats import stats_middleware
from emulators.gather import admin, readback, routes
from emulators.gather.config import EmulatorConfig
from emulators.gather.errors import render_fault
from emulators.gather.middleware import auth, drf_errors, throttle
from emulators.gather.state import ADMIN_PREFIX, STATE, GatherState
from emulators.gather.store import Store

# Django's default DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB); Gather's own limit is undocumented.
DEFAULT_MAX_BODY_BYTES = 2_621_440


def make_app(
    api_keys: Iterable[str],
    data_dir: Path | None,
    config: EmulatorConfig | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> web.Application:
    """The Gather emulator, storing in ``data_dir`` (None: in memory).

    Every key in `api_keys` is accepted and all keys share one workspace (one set of
    records), like several keys of one Gather team.
    """
    keys = frozenset(k for k in api_keys if k)
    if not keys:
        msg = "the Gather emulator needs at least one API key"
        raise ValueError(msg)
    state = GatherState(
        store=Store(data_dir),
        api_keys=keys,
        initial_config=config or EmulatorConfig(),
        max_body_bytes=max_body_bytes,
    )
    app = web.Application(
        client_max_size=max_body_bytes,
        middlewares=[
            stats_middleware(state.stats, ADMIN_PREFIX),
            fault_middleware(state.plan, render_fault, ADMIN_PREFIX),
            drf_errors,
            throttle,
            auth,
        ],
    )
    app[STATE] = state

    async def close_store(_: web.Application) -> None:
        state.store.close()

    app.on_cleanup.append(close_store)
    routes.add_routes(app)
    readback.add_routes(app)
    admin.add_routes(app)
    return app
