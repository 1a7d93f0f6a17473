"""The tap's own settings, read the way the tap reads them, validated by the tap itself.

`--config FILE` (repeatable, later files win) and `--config ENV` (the `TAP_HUBSPOT_GATHER_*`
variables Meltano exports for the plugin), typed by the tap's own env typing.
The merged settings are validated by constructing the tap (its schema, its defaults).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from singer_sdk.exceptions import ConfigValidationError

from tap_hubspot_gather.client import check_api_url as client_check_api_url
from tap_hubspot_gather.errors import HubSpotError, redact
from tap_hubspot_gather.tap import TapHubspotGather

ENV_SOURCE = "ENV"
ENV_PREFIX = "TAP_HUBSPOT_GATHER_"
SECRET_SETTINGS = ("access_token", "client_id", "client_secret", "refresh_token")


class SettingsError(Exception):
    """The settings cannot be read or are invalid; the message says which and how to fix."""


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Every declared setting present as a `TAP_HUBSPOT_GATHER_<NAME>` variable, typed as
    the tap types its `--config ENV` (`TapHubspotGather.typed_settings`)."""
    properties: Mapping[str, Any] = TapHubspotGather.config_jsonschema["properties"]
    found: dict[str, str] = {}
    for name in properties:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            found[name] = raw
    return TapHubspotGather.typed_settings(found)


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


def load_settings(
    sources: Sequence[str], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Merge the sources in order (no sources: ENV), unvalidated."""
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    for source in sources or [ENV_SOURCE]:
        merged.update(from_environment(env) if source == ENV_SOURCE else from_file(source))
    return merged


def build_tap(settings: Mapping[str, Any]) -> TapHubspotGather:
    """The tap with these settings (validated, defaults filled); it owns the HTTP client."""
    try:
        tap = TapHubspotGather(
            config=dict(settings),
            parse_env_config=False,
            validate_config=True,
            setup_mapper=False,
        )
    except ConfigValidationError as exc:
        problems = "; ".join(str(e) for e in exc.errors) or str(exc)
        msg = f"Invalid tap settings: {problems}. Fix them in meltano.yml, .env or the config file."
        secrets = [str(settings[k]) for k in SECRET_SETTINGS if settings.get(k)]
        raise SettingsError(redact(msg, secrets)) from None
    check_api_url(
        str(tap.config.get("api_url") or ""),
        allow_insecure_http=bool(tap.config.get("allow_insecure_http", False)),
    )
    return tap


def check_api_url(api_url: str, *, allow_insecure_http: bool = False) -> None:
    """Refuse an api_url that cannot work, or is unsafe, before any request (the client's
    own check, reported as a settings problem)."""
    try:
        client_check_api_url(api_url, allow_insecure_http=allow_insecure_http)
    except HubSpotError as exc:
        raise SettingsError(str(exc)) from None
