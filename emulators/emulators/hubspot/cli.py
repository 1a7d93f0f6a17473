"""`hubspot-emulator`: serve the HubSpot emulator on loopback until SIGINT/SIGTERM.

Credentials come from `--token` / `--service-key` / `--oauth-client` (repeatable) and the env
vars `HUBSPOT_EMULATOR_TOKENS` (comma list), `HUBSPOT_EMULATOR_SERVICE_KEYS` (semicolon list of
pat-KEY:SCOPE,SCOPE) and `HUBSPOT_EMULATOR_OAUTH_CLIENTS` (comma list of
CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN). The URL line is printed once the port is bound.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from emulators.common.cli import base_parser
from emulators.common.server import serve_forever
from emulators.hubspot.admin import apply_seed
from emulators.hubspot.app import make_app
from emulators.hubspot.auth import CredentialError, OAuthClient, parse_service_key
from emulators.hubspot.config import ConfigError, EmulatorConfig
from emulators.hubspot.journal_settings import (
    JournalSettingsError,
    add_cli_arguments,
    settings_from_args,
)
from emulators.hubspot.portal import HUB_ID, PortalError
from emulators.hubspot.seed import SeedError
from emulators.hubspot.state import STATE_KEY

TOKENS_ENV = "HUBSPOT_EMULATOR_TOKENS"
SERVICE_KEYS_ENV = "HUBSPOT_EMULATOR_SERVICE_KEYS"
OAUTH_ENV = "HUBSPOT_EMULATOR_OAUTH_CLIENTS"


def _split(text: str | None, separator: str = ",") -> list[str]:
    return [part.strip() for part in (text or "").split(separator) if part.strip()]


def build_parser() -> object:
    """The argument parser (exposed for the README's usage text)."""
    parser = base_parser(
        "hubspot-emulator", "A local HubSpot CRM API for tests, demos and benchmarks."
    )
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        help=f"Private-app token to accept (repeatable; also ${TOKENS_ENV}).",
    )
    parser.add_argument(
        "--oauth-client",
        action="append",
        default=[],
        metavar="ID:SECRET:REFRESH",
        help=f"OAuth client allowed to refresh tokens (repeatable; also ${OAUTH_ENV}).",
    )
    parser.add_argument(
        "--service-key",
        action="append",
        default=[],
        metavar="pat-KEY:SCOPE,SCOPE",
        help=f"Service Key to accept with its scopes (repeatable; also ${SERVICE_KEYS_ENV}, "
        "entries separated by semicolons).",
    )
    parser.add_argument(
        "--hub-id",
        type=int,
        default=HUB_ID,
        help="The emulated portal's hub id (default: %(default)s); give each portal its own.",
    )
    parser.add_argument("--seed-companies", type=int, default=0, help="Companies to generate.")
    parser.add_argument("--seed-contacts", type=int, default=0, help="Contacts to generate.")
    parser.add_argument(
        "--seed", type=int, default=42, help="Generator seed (default: %(default)s)."
    )
    parser.add_argument(
        "--custom-properties", type=int, default=0, help="Extra custom properties per object type."
    )
    parser.add_argument(
        "--id-share", type=float, default=None, help="Share of records with the unique internal ID."
    )
    parser.add_argument(
        "--duplicate-share",
        type=float,
        default=None,
        help="Share of legacy IDs that repeat an earlier one.",
    )
    parser.add_argument(
        "--epoch-ms-date-share",
        type=float,
        default=None,
        help="Share of date values rendered as epoch ms.",
    )
    parser.add_argument(
        "--retire-legacy-apis",
        action="store_true",
        help="Answer /crm/v3, /crm/v4/associations and /oauth/v1 as sunset APIs (404 naming "
        "the date-versioned replacement).",
    )
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="Disable the burst, search and daily limits."
    )
    parser.add_argument(
        "--config", default=None, help="JSON object of config settings (as PUT /_emulator/config)."
    )
    add_cli_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, seed, serve; exit 2 with a message on bad options."""
    parser = build_parser()
    args = parser.parse_args(argv)  # type: ignore[attr-defined]
    tokens = [*args.token, *_split(os.environ.get(TOKENS_ENV))]
    try:
        clients = [
            OAuthClient.parse(c) for c in [*args.oauth_client, *_split(os.environ.get(OAUTH_ENV))]
        ]
        keys = dict(
            parse_service_key(k)
            for k in [*args.service_key, *_split(os.environ.get(SERVICE_KEYS_ENV), ";")]
        )
        if not tokens and not clients and not keys:
            msg = (
                f"no credentials: give --token (or ${TOKENS_ENV}), --service-key "
                f"(or ${SERVICE_KEYS_ENV}) and/or --oauth-client (or ${OAUTH_ENV})"
            )
            raise CredentialError(msg)
        config = EmulatorConfig.unlimited() if args.no_rate_limits else EmulatorConfig()
        if args.retire_legacy_apis:
            config.legacy_apis = False
        if args.config:
            config.update(json.loads(args.config))
        app = make_app(tokens, clients, config, hub_id=args.hub_id, service_keys=keys)
        app[STATE_KEY].webhooks.settings = settings_from_args(args)
        if args.seed_companies or args.seed_contacts or args.custom_properties:
            options: dict[str, object] = {
                "companies": args.seed_companies,
                "contacts": args.seed_contacts,
                "seed": args.seed,
                "custom_properties": args.custom_properties,
            }
            for key in ("id_share", "duplicate_share", "epoch_ms_date_share"):
                if getattr(args, key) is not None:
                    options[key] = getattr(args, key)
            apply_seed(app[STATE_KEY], options)
    except (
        CredentialError,
        ConfigError,
        SeedError,
        PortalError,
        JournalSettingsError,
        json.JSONDecodeError,
    ) as exc:
        print(f"hubspot-emulator: {exc}", file=sys.stderr)
        return 2
    serve_forever(app, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
