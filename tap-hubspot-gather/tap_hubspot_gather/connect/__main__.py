"""`python -m tap_hubspot_gather.connect` (what meltano.yml's `connect` command runs)."""

from __future__ import annotations

import sys

from tap_hubspot_gather.connect.cli import main

if __name__ == "__main__":
    sys.exit(main())
