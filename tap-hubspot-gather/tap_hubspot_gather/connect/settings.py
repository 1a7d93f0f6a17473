"""The few tap settings connect needs, read without loading the tap (a fast start).

Sources as the check's: `--config FILE` (the tap's JSON config) and `--config ENV` (the
`TAP_HUBSPOT_GATHER_*` variables Meltano exports), repeatable, later wins; default ENV.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tap_hubspot_gather.client import DEFAULT_API_URL, check_api_url
from tap_hubspot_gather.errors import HubSpotError

ENV_SOURCE = "ENV"
ENV_PREFIX = "TAP_HUBSPOT_GATHER_"
NAMES = ("api_url", "allow_insecure_http", "client_id", "client_secret", "access_token")
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})


class SettingsError(Exception):
    """A setting is missing or invalid; the message says which and how to fix it."""


def load(sources: Sequence[str], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge the sources in order (none: ENV)."""
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    for source in sources or [ENV_SOURCE]:
        if source == ENV_SOURCE:
            found = {n: env.get(ENV_PREFIX + n.upper()) for n in NAMES}
            merged.update({n: v for n, v in found.items() if v})
        else:
            merged.update(_file(source))
    return merged


def _file(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"Settings file {path} does not exist: pass the tap's config file or ENV."
        raise SettingsError(msg) from None
    except (OSError, ValueError) as exc:
        msg = f"Settings file {path} is not readable JSON ({type(exc).__name__}): fix it."
        raise SettingsError(msg) from None
    if not isinstance(data, dict):
        msg = f"Settings file {path} must hold a JSON object of settings."
        raise SettingsError(msg)
    return {k: v for k, v in data.items() if k in NAMES and v not in (None, "")}


def app_credentials(settings: Mapping[str, Any]) -> tuple[str, str, str]:
    """`(api_url, client_id, client_secret)`, or a `SettingsError` saying what to set."""
    missing = [k for k in ("client_id", "client_secret") if not settings.get(k)]
    if missing:
        msg = (
            f"connect needs your OAuth app's {' and '.join(missing)} (HubSpot: your app's Auth "
            "tab): set them with `meltano config tap-hubspot-gather set client_id ...` and "
            "`... set client_secret ...`, then run connect again."
        )
        raise SettingsError(msg)
    api_url = str(settings.get("api_url") or DEFAULT_API_URL)
    insecure = str(settings.get("allow_insecure_http", "")).strip().lower() in TRUE_WORDS
    try:
        api_url = check_api_url(api_url, allow_insecure_http=insecure)
    except HubSpotError as exc:
        raise SettingsError(str(exc)) from None
    return api_url, str(settings["client_id"]), str(settings["client_secret"])
