"""Allow `python -m tap_hubspot_gather`."""

from __future__ import annotations

from tap_hubspot_gather.tap import TapHubspotGather

TapHubspotGather.cli()
