"""``hubspot-gather-tenants check FILE``: validate a tenants file before Dagster loads it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hubspot_gather_orchestration.meltano_run import state_id
from hubspot_gather_orchestration.tenants import TenantsFileError, load_tenants

EXIT_INVALID = 1


def main(argv: Sequence[str] | None = None) -> int:
    """Print each tenant's schedule and state ID, or the first problem (exit 1)."""
    parser = argparse.ArgumentParser(prog="hubspot-gather-tenants", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate a tenants file")
    check.add_argument("tenants_file", type=Path)
    check.add_argument(
        "--meltano-yml", type=Path, default=Path("meltano.yml"), help="default: ./meltano.yml"
    )
    args = parser.parse_args(argv)
    try:
        tenants = load_tenants(args.tenants_file, args.meltano_yml)
    except TenantsFileError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for tenant in tenants:
        schedule = tenant.schedule or "no schedule"
        print(f"{tenant.id}: workspace {tenant.gather_workspace}, {schedule}, {state_id(tenant)}")
    print(f"ok: {len(tenants)} tenant(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
