"""The tap's own settings, read the way the tap reads them, validated by the tap itself.

Sources as every command's (`tap_hubspot_gather.command_settings`): `--config FILE` and
`--config ENV`, the variables typed by the tap's own env typing. The merged settings are
validated by constructing the tap (its schema, its defaults).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from singer_sdk.exceptions import ConfigValidationError

from tap_hubspot_gather.command_settings import SettingsError, checked_api_url, read_settings
from tap_hubspot_gather.errors import redact
from tap_hubspot_gather.tap import TapHubspotGather

SECRET_SETTINGS = ("access_token", "client_id", "client_secret", "refresh_token")

__all__ = ["SettingsError", "build_tap", "load_settings"]


def load_settings(
    sources: Sequence[str], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Merge the sources in order (no sources: ENV), unvalidated; every declared setting
    may come from ENV, typed as the tap types its `--config ENV`."""
    return read_settings(
        sources,
        TapHubspotGather.config_jsonschema["properties"],
        typed=TapHubspotGather.typed_settings,
        environ=environ,
    )


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
        problems = [str(e) for e in exc.errors] or [str(exc)]
    else:
        # The check reads HubSpot at once: credentials are required as for a sync.
        problems = [tap.missing_credentials] if tap.missing_credentials else []
    if problems:
        msg = (
            f"Invalid tap settings: {'; '.join(problems)}. Fix them in meltano.yml, .env or "
            "the config file."
        )
        secrets = [str(settings[k]) for k in SECRET_SETTINGS if settings.get(k)]
        raise SettingsError(redact(msg, secrets)) from None
    checked_api_url(
        str(tap.config.get("api_url") or ""),
        allow_insecure_http=bool(tap.config.get("allow_insecure_http", False)),
    )
    return tap
