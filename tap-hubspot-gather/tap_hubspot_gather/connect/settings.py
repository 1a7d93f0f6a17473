"""The few tap settings connect needs, read without loading the tap (a fast start).

Sources as every command's (`tap_hubspot_gather.command_settings`): `--config FILE` (the
tap's JSON config) and `--config ENV` (the `TAP_HUBSPOT_GATHER_*` variables Meltano exports),
repeatable, later wins; default ENV.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tap_hubspot_gather.client import DEFAULT_API_URL
from tap_hubspot_gather.command_settings import SettingsError, checked_api_url, read_settings
from tap_hubspot_gather.versions import HubSpotPaths, UnknownApiVersionError, paths_for

NAMES = (
    "api_url",
    "allow_insecure_http",
    "api_version",
    "client_id",
    "client_secret",
    "access_token",
)
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})

__all__ = ["SettingsError", "api_paths", "app_credentials", "load"]


def load(sources: Sequence[str], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge the sources in order (none: ENV); only the settings connect reads."""
    return read_settings(sources, NAMES, only_names=True, environ=environ)


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
    api_url = checked_api_url(api_url, allow_insecure_http=insecure)
    return api_url, str(settings["client_id"]), str(settings["client_secret"])


def api_paths(settings: Mapping[str, Any]) -> HubSpotPaths:
    """The HubSpot paths of the configured `api_version`, or a `SettingsError` naming the
    allowed values."""
    try:
        return paths_for(str(settings.get("api_version") or "") or None)
    except UnknownApiVersionError as exc:
        raise SettingsError(str(exc)) from None
