"""The target: settings schema and start-up validation. Nothing else lives here."""

from __future__ import annotations

from singer_sdk import typing as th
from singer_sdk.target_base import Target

DEFAULT_API_URL = "https://api.gatherdata.co"


class TargetGather(Target):
    """Create-or-update Gather accounts, users and custom-model records."""

    name = "target-gather"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            description="Base URL of Gather's Records API.",
        ),
        th.Property(
            "api_key",
            th.StringType,
            secret=True,
            description="Gather API key (sent as `Authorization: Token <key>`).",
        ),
        th.Property(
            "payload_format",
            th.StringType,
            default="flat",
            allowed_values=["flat", "traits"],
            description="`flat` sends traits beside `id` (Gather's docs); `traits` nests them "
            "under `traits` (Gather's newest client).",
        ),
    ).to_dict()


if __name__ == "__main__":
    TargetGather.cli()
