"""Connect: HubSpot's OAuth authorization-code flow for this tap (`tap-hubspot-gather-connect`).

Modules: `oauth` (authorize URL, code exchange, token info, over the tap's HTTP transport),
`callback` (the loopback listener HubSpot redirects the browser to), `settings` (the few tap
settings it needs, read without loading the tap), `cli` (arguments, messages, exit codes).
The refresh token is stored in the Meltano project's `.env` by `tap_hubspot_gather.refresh_store`,
which the tap also uses to keep a rotated token.
"""

from __future__ import annotations

from tap_hubspot_gather.connect.cli import main

__all__ = ["main"]
