"""The tap's settings as its commands (`check`, `connect`) take them from the command line.

`--config FILE` (the tap's JSON config file) and `--config ENV` (the `TAP_HUBSPOT_GATHER_*`
variables Meltano exports for the plugin), repeatable, later sources win; none means ENV.
Kept free of the tap class so a command may read its few settings without loading it.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from tap_hubspot_gather.client import check_api_url
from tap_hubspot_gather.errors import HubSpotError

ENV_SOURCE = "ENV"
# `--config ENV` reads TAP_HUBSPOT_GATHER_<SETTING> (singer-sdk's convention; Meltano's too),
# for the tap and its commands alike.
ENV_PREFIX = "TAP_HUBSPOT_GATHER_"
_CONFIG_HELP = (
    "The tap's settings: a JSON config file, or ENV for TAP_HUBSPOT_GATHER_* variables "
    "(repeatable, later wins; default ENV)."
)


class SettingsError(Exception):
    """The settings cannot be read or are invalid; the message says which and how to fix."""


def command_parser(
    prog: str, description: str, *, exit_codes: str, needs: str = ""
) -> argparse.ArgumentParser:
    """A command's command line with the `--config FILE|ENV` option every command shares
    (`needs`: the settings this command requires, for the help)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, epilog=f"Exit codes: {exit_codes}."
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="FILE|ENV",
        help=f"{_CONFIG_HELP} {needs}" if needs else _CONFIG_HELP,
    )
    return parser


def read_settings(
    sources: Sequence[str],
    names: Collection[str],
    *,
    typed: Callable[[dict[str, str]], dict[str, Any]] | None = None,
    only_names: bool = False,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Merge the sources in order (none: ENV), unvalidated.

    ENV yields each of `names` set to a non-empty `TAP_HUBSPOT_GATHER_<NAME>` variable, as
    text or through `typed`. A file yields all it holds; with `only_names`, only `names`
    with a value (an empty one counts as unset, as in ENV).
    """
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    for source in sources or [ENV_SOURCE]:
        if source == ENV_SOURCE:
            found = from_environment(names, env)
            merged.update(typed(found) if typed is not None else found)
        else:
            data = from_file(source)
            if only_names:
                data = {k: v for k, v in data.items() if k in names and v not in (None, "")}
            merged.update(data)
    return merged


def from_environment(names: Collection[str], environ: Mapping[str, str]) -> dict[str, str]:
    """Each of `names` set to a non-empty `TAP_HUBSPOT_GATHER_<NAME>` variable, as text."""
    found: dict[str, str] = {}
    for name in names:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            found[name] = raw
    return found


def from_file(path: str) -> dict[str, Any]:
    """A JSON settings file (the tap's `--config` file)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"Settings file {path} does not exist: pass the tap's config file or ENV."
        raise SettingsError(msg) from None
    except (OSError, ValueError) as exc:
        msg = (
            f"Settings file {path} is not readable JSON ({type(exc).__name__}): fix or replace it."
        )
        raise SettingsError(msg) from None
    if not isinstance(data, dict):
        msg = f"Settings file {path} must hold a JSON object of settings."
        raise SettingsError(msg)
    return data


def checked_api_url(api_url: str, *, allow_insecure_http: bool = False) -> str:
    """The api_url as the client will use it; one that cannot work, or is unsafe, is refused
    before any request (the client's own check, reported as a settings problem)."""
    try:
        return check_api_url(api_url, allow_insecure_http=allow_insecure_http)
    except HubSpotError as exc:
        raise SettingsError(str(exc)) from None
