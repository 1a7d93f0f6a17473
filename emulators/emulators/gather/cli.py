"""``gather-emulator``: serve the Gather Records API emulator on loopback.

    gather-emulator --port 0 --api-key KEY [--data-dir DIR | --in-memory]

Prints ``Listening on http://127.0.0.1:PORT`` once bound; SIGTERM or SIGINT stop it
cleanly. Keys come from ``--api-key`` (repeatable) and/or ``GATHER_EMULATOR_API_KEYS``
(comma-separated; preferred, since command lines are visible to other local users).
Separate workspaces (each its own records, like separate Gather teams) come from
``--workspace NAME:KEY`` (repeatable) and/or ``GATHER_EMULATOR_WORKSPACES=a:k1,b:k2``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from emulators.common.cli import base_parser
from emulators.common.server import serve_forever
from emulators.gather.app import DEFAULT_MAX_BODY_BYTES, make_app
from emulators.gather.config import EmulatorConfig
from emulators.gather.store import StoreError

KEYS_ENV = "GATHER_EMULATOR_API_KEYS"
WORKSPACES_ENV = "GATHER_EMULATOR_WORKSPACES"
DEFAULT_DATA_DIR = Path(".emulators") / "gather"
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The emulator's options on top of the shared ``--host`` / ``--port``."""
    parser = base_parser("gather-emulator", "A local emulator of Gather's Records API.")
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help=f"Accept this API key (repeatable); also read from ${KEYS_ENV} (comma list).",
    )
    parser.add_argument(
        "--workspace",
        action="append",
        default=[],
        metavar="NAME:KEY",
        help=f"A separate workspace and one of its keys (repeatable); also ${WORKSPACES_ENV}.",
    )
    storage = parser.add_mutually_exclusive_group()
    storage.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="Folder of the SQLite database, created if missing (default: %(default)s).",
    )
    storage.add_argument(
        "--in-memory", action="store_true", help="Keep everything in memory (lost on exit)."
    )
    parser.add_argument(
        "--require-traits-on-update",
        action="store_true",
        help="Require the model's required traits on updates too, not only on creates.",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="PER_S",
        help="Answer 429 + Retry-After beyond this many API requests per second.",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="Largest accepted request body; larger ones get 413 (default: %(default)s).",
    )
    return parser


def api_keys(cli_keys: Sequence[str], environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """Keys from the command line and the environment, blanks dropped."""
    from_env = [k.strip() for k in environ.get(KEYS_ENV, "").split(",")]
    return [k for k in [*cli_keys, *from_env] if k.strip()]


def workspaces(
    cli_pairs: Sequence[str], environ: dict[str, str] | os._Environ[str]
) -> dict[str, list[str]]:
    """Workspace name -> keys from ``NAME:KEY`` pairs (command line, then the env var)."""
    from_env = [p.strip() for p in environ.get(WORKSPACES_ENV, "").split(",") if p.strip()]
    result: dict[str, list[str]] = {}
    for pair in [*cli_pairs, *from_env]:
        name, sep, key = pair.partition(":")
        if not sep or not name.strip() or not key.strip():
            # Never echo the entry: without a ':' it may be a bare key.
            msg = "a workspace entry is not NAME:KEY (e.g. team-a:KEY); check --workspace and "
            msg += f"${WORKSPACES_ENV}"
            raise ValueError(msg)
        result.setdefault(name.strip(), []).append(key.strip())
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGTERM/SIGINT."""
    parser = build_parser()
    args = parser.parse_args(argv)
    keys = api_keys(args.api_key, os.environ)
    try:
        named = workspaces(args.workspace, os.environ)
    except ValueError as exc:
        parser.error(str(exc))
    if not keys and not named:
        parser.error(f"no API key: pass --api-key KEY or set {KEYS_ENV}=KEY1,KEY2")
    if args.rate_limit is not None and args.rate_limit <= 0:
        parser.error("--rate-limit must be > 0 requests per second")
    config = EmulatorConfig(
        require_traits_on_update=args.require_traits_on_update,
        rate_limit_per_s=args.rate_limit,
    )
    try:
        app = make_app(
            keys,
            None if args.in_memory else args.data_dir,
            config=config,
            max_body_bytes=args.max_body_bytes,
            workspaces=named,
        )
    except ValueError as exc:  # a bad workspace name or a key in two workspaces
        parser.error(str(exc))
    except StoreError as exc:
        print(f"gather-emulator: {exc}", file=sys.stderr)
        return EXIT_USAGE
    serve_forever(app, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
