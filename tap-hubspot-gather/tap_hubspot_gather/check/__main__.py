"""`python -m tap_hubspot_gather.check` (what meltano.yml's `check` command runs)."""

from __future__ import annotations

import sys

from tap_hubspot_gather.check.cli import main

if __name__ == "__main__":
    sys.exit(main())
