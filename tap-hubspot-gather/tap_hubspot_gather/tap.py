"""The tap: settings schema and stream discovery. Nothing else lives here."""

from __future__ import annotations

from singer_sdk import Stream, Tap
from singer_sdk import typing as th

DEFAULT_API_URL = "https://api.hubapi.com"


class TapHubspotGather(Tap):
    """HubSpot companies and contacts for Gather accounts and users."""

    name = "tap-hubspot-gather"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "access_token",
            th.StringType,
            secret=True,
            description="HubSpot private app access token (sent as a Bearer token). "
            "Use this or the OAuth settings.",
        ),
        th.Property(
            "client_id",
            th.StringType,
            secret=True,
            description="OAuth app client id, with client_secret and refresh_token.",
        ),
        th.Property(
            "client_secret",
            th.StringType,
            secret=True,
            description="OAuth app client secret.",
        ),
        th.Property(
            "refresh_token",
            th.StringType,
            secret=True,
            description="OAuth refresh token of the installed app.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            description="Base URL of the HubSpot API; the OAuth token URL derives from it.",
        ),
        th.Property(
            "account_id_property",
            th.StringType,
            default="companyId",
            description="Company property holding the Gather account ID, or `companyId` "
            "for HubSpot's company id.",
        ),
        th.Property(
            "user_id_property",
            th.StringType,
            default="vid",
            description="Contact property holding the Gather user ID, or `vid` for "
            "HubSpot's contact id, or `email`.",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            description="Only records modified at or after this time are extracted.",
        ),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        """Return the streams this tap offers."""
        return []


if __name__ == "__main__":
    TapHubspotGather.cli()
