"""`tap-hubspot-gather-check`: is this HubSpot portal ready for Gather?

Exit codes: 0 ready, 1 not ready (the report says why and how to fix it), 2 the check could not
run (settings, credentials, HubSpot unreachable: the message on stderr says what to do).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from tap_hubspot_gather.check.access import check_access
from tap_hubspot_gather.check.declared import checked_objects
from tap_hubspot_gather.check.idstore import IdStore
from tap_hubspot_gather.check.render import exit_code, report_json_schema, to_json, to_text
from tap_hubspot_gather.check.report import CheckReport, ObjectCheck, judge
from tap_hubspot_gather.check.scan import DEFAULT_PROGRESS_INTERVAL_S, PortalScanner, Progress
from tap_hubspot_gather.check.settings import SettingsError, build_tap, load_settings
from tap_hubspot_gather.check.suggest import (
    Candidate,
    Suggestion,
    candidate_properties,
    rank,
)
from tap_hubspot_gather.command_settings import command_parser
from tap_hubspot_gather.errors import HubSpotError
from tap_hubspot_gather.paging import DEFAULT_MAX_URL_LENGTH

EXIT_READY = 0
EXIT_CANNOT_CHECK = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell convention
DEFAULT_SAMPLE_SIZE = 10
DEFAULT_MAX_DUPLICATES = 20


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = command_parser(
        "tap-hubspot-gather-check",
        "Check, before the first sync, that every HubSpot company and contact has a unique "
        "Gather ID under the tap's settings.",
        exit_codes="0 ready, 1 not ready, 2 could not check",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="Report format.")
    p.add_argument("--strict", action="store_true", help="Warnings make the portal not ready too.")
    p.add_argument(
        "--sample-size",
        type=int,
        default=DEFAULT_SAMPLE_SIZE,
        metavar="N",
        help="HubSpot ids listed per finding (default %(default)s).",
    )
    p.add_argument(
        "--max-duplicates",
        type=int,
        default=DEFAULT_MAX_DUPLICATES,
        metavar="N",
        help="Duplicate values listed in detail per object (all are counted; default %(default)s).",
    )
    p.add_argument(
        "--progress-interval",
        type=float,
        default=DEFAULT_PROGRESS_INTERVAL_S,
        metavar="SECONDS",
        help="Seconds between progress lines on stderr (default %(default)s).",
    )
    p.add_argument(
        "--suggest",
        action="store_true",
        help="Also rank the properties that could be each object's ID and recommend one "
        "(reads their values in the same scan).",
    )
    p.add_argument("--quiet", action="store_true", help="No progress lines on stderr.")
    p.add_argument(
        "--work-dir",
        metavar="DIR",
        help="Where the temporary ID database goes (default: the system temp folder). It "
        "holds ID values (maybe emails) and is deleted at exit.",
    )
    p.add_argument(
        "--json-schema",
        action="store_true",
        help="Print the JSON Schema of the --format json report and exit.",
    )
    return p


def check_portal(
    args: argparse.Namespace, progress: Progress, started: float | None = None
) -> CheckReport:
    """Run every check with the tap's settings and client; the judged report."""
    started = time.monotonic() if started is None else started
    tap = build_tap(load_settings(args.config))
    config = tap.config
    client = tap.client
    objects = checked_objects()
    progress.note("checking the credential")
    check_access(client, [o.object_type for o in objects])
    progress.note("reading property definitions")
    definitions = tap.definitions
    # As the tap reads it: the setting, else the object's own HubSpot id.
    id_properties = {o.object_type: tap.configured_key(o) for o in objects}
    candidates: dict[str, list[Candidate]] = {}
    if args.suggest:
        for obj in objects:
            candidates[obj.object_type] = candidate_properties(
                obj, definitions[obj.object_type], id_properties[obj.object_type]
            )
    suggestions: list[Suggestion] | None = None
    with IdStore(args.work_dir) as store:
        scanner = PortalScanner(
            client,
            definitions,
            store,
            id_properties=id_properties,
            max_url_length=int(config.get("max_url_length") or DEFAULT_MAX_URL_LENGTH),
            sample_size=max(args.sample_size, 0),
            max_duplicate_groups=max(args.max_duplicates, 0),
            progress=progress,
            candidates={k: [c.name for c in v] for k, v in candidates.items()},
        )
        checks: list[ObjectCheck] = []
        accounts: ObjectCheck | None = None  # the object feeding the account index
        for obj in objects:
            checks.append(scanner.check_object(obj, accounts))
            if obj.feeds_accounts:
                accounts = checks[-1]
        progress.note("listing archived records")
        for obj, check in zip(objects, checks, strict=True):
            scanner.check_archived(obj, check)
        if args.suggest:
            suggestions = [
                rank(o, candidates[o.object_type], store, store.count(o.object_type))
                for o in objects
            ]
    report = CheckReport(
        api_url=client.api_url,
        objects=checks,
        strict=args.strict,
        requests=client.stats.requests,
        elapsed_s=time.monotonic() - started,
        suggestions=suggestions,
        api_version=client.paths.version,
    )
    return judge(report)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Console entry point; returns the exit code (also used by `python -m`)."""
    out = stdout if stdout is not None else sys.stdout
    args = parser().parse_args(argv)
    if args.json_schema:
        print(json.dumps(report_json_schema(), indent=2), file=out)
        return EXIT_READY
    progress = Progress(sys.stderr, interval_s=args.progress_interval, enabled=not args.quiet)
    try:
        report = check_portal(args, progress)
    except (SettingsError, HubSpotError) as exc:
        print(f"check: could not check the portal: {exc}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    except KeyboardInterrupt:
        print("check: interrupted; nothing was changed in HubSpot.", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.format == "json":
        print(json.dumps(to_json(report), indent=2, ensure_ascii=False), file=out)
    else:
        out.write(to_text(report))
    out.flush()
    return exit_code(report)
