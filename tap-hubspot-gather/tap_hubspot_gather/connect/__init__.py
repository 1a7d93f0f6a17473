"""Connect: HubSpot's OAuth authorization-code flow for this tap (`tap-hubspot-gather-connect`).

Modules: `oauth` (authorize URL, code exchange, token info, over the tap's HTTP transport),
`callback` (the loopback listener HubSpot redirects the browser to), `settings` (the few tap
settings it needs, read without loading the tap), `dotenv` (stores the
refresh token in the Meltano project's `.env`), `cli` (arguments, messages, exit codes).
"""

from __future__ import annotations

from tap_hubspot_gather.connect.cli import main

__all__ = ["main"]
