"""Build the Gather emulator's aiohttp application."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from aiohttp import web

from emulators.common.faults import fault_middleware
from emulators.common.stats import stats_middleware
from emulators.gather import admin, readback, routes
from emulators.gather.config import EmulatorConfig
from emulators.gather.errors import render_fault
from emulators.gather.middleware import auth, drf_errors, throttle
from emulators.gather.state import ADMIN_PREFIX, DEFAULT_WORKSPACE, STATE, GatherState, Workspace
from emulators.gather.store import Store

# Django's default DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB); Gather's own limit is undocumented.
DEFAULT_MAX_BODY_BYTES = 2_621_440
# Workspace names become folder names under the data dir.
WORKSPACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
WORKSPACES_DIR = "workspaces"


def _workspace_keys(
    api_keys: Iterable[str], workspaces: Mapping[str, Iterable[str]] | None
) -> dict[str, str]:
    """key -> workspace name; `api_keys` belong to the default workspace."""
    key_workspaces = {key: DEFAULT_WORKSPACE for key in api_keys if key}
    for name, keys in (workspaces or {}).items():
        if name == DEFAULT_WORKSPACE or not WORKSPACE_NAME.fullmatch(name):
            msg = (
                f"workspace name {name!r} is not allowed: use letters, digits, '_', '-', '.' "
                f"(at most 64, not {DEFAULT_WORKSPACE!r})"
            )
            raise ValueError(msg)
        named = [key for key in keys if key]
        if not named:
            msg = f"workspace {name!r} has no API key"
            raise ValueError(msg)
        for key in named:
            if key in key_workspaces:
                # Never echo the key itself.
                msg = f"an API key of workspace {name!r} is already used by another workspace"
                raise ValueError(msg)
            key_workspaces[key] = name
    return key_workspaces


def _workspace_dir(data_dir: Path | None, name: str) -> Path | None:
    if data_dir is None or name == DEFAULT_WORKSPACE:
        return data_dir
    return data_dir / WORKSPACES_DIR / name


def make_app(
    api_keys: Iterable[str],
    data_dir: Path | None,
    config: EmulatorConfig | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    workspaces: Mapping[str, Iterable[str]] | None = None,
) -> web.Application:
    """The Gather emulator, storing in ``data_dir`` (None: in memory).

    Every key in `api_keys` is accepted and those keys share one workspace (one set of
    records), like several keys of one Gather team. `workspaces` (name -> keys) adds
    separate workspaces, each with its own records (in ``data_dir/workspaces/<name>``), like
    separate Gather teams: a key sees only its own workspace.
    """
    key_workspaces = _workspace_keys(api_keys, workspaces)
    if not key_workspaces:
        msg = "the Gather emulator needs at least one API key"
        raise ValueError(msg)
    names = dict.fromkeys(key_workspaces.values())
    state = GatherState(
        workspaces={name: Workspace(name, Store(_workspace_dir(data_dir, name))) for name in names},
        key_workspaces=key_workspaces,
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
        for workspace in state.workspaces.values():
            workspace.store.close()

    app.on_cleanup.append(close_store)
    routes.add_routes(app)
    readback.add_routes(app)
    admin.add_routes(app)
    return app
