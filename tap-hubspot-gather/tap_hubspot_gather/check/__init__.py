"""Preflight check: is this HubSpot portal ready for Gather? (`tap-hubspot-gather-check`).

Every object declared in `tap_hubspot_gather.objects` is checked; `declared` says what the
check derives from a declaration. Modules: `settings` (the tap's settings), `scan` (reads the
portal with the tap's client), `idstore` (on-disk SQLite spill: bounded memory, duplicates by
GROUP BY), `report` (problems, fixes, verdict), `render` (text and JSON), `cli` (arguments
and exit codes).
"""

from __future__ import annotations

from tap_hubspot_gather.check.cli import main

__all__ = ["main"]
