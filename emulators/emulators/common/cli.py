"""Command-line plumbing shared by both emulators' console scripts."""

from __future__ import annotations

import argparse

from emulators.common.server import LOOPBACK


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser with the options every emulator takes (`--host`, `--port`)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--host",
        default=LOOPBACK,
        help="Interface to bind (default: %(default)s, loopback only).",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="Port to bind; 0 picks a free port, printed on start (default: %(default)s).",
    )
    return parser
