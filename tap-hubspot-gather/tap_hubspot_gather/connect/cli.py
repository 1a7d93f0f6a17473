"""`tap-hubspot-gather-connect`: connect a HubSpot portal to this tap through OAuth.

Opens HubSpot's consent page for the configured OAuth app (client_id, client_secret) with a
PKCE challenge, waits for HubSpot's redirect on a loopback port, trades the code and verifier
for tokens at HubSpot's 2026-03 token endpoint, checks by introspection that the grant holds
every scope the tap needs, reads one record on the configured `api_version`, and stores the
refresh token in the Meltano project's `.env` as `TAP_HUBSPOT_GATHER_REFRESH_TOKEN` (where the
tap also keeps a rotated one). No token is ever printed or logged. The app itself is the
HubSpot developer project in `hubspot-app/`.

Exit codes: 0 connected, 1 not connected (the line on stderr says why and what to do),
2 cannot start (settings, port).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from tap_hubspot_gather.command_settings import command_parser
from tap_hubspot_gather.connect.callback import CallbackListener
from tap_hubspot_gather.connect.oauth import (
    ConnectError,
    OAuthApp,
    Pkce,
    authorize_base,
    authorize_url,
    new_state,
)
from tap_hubspot_gather.connect.settings import SettingsError, api_paths, app_credentials, load
from tap_hubspot_gather.errors import redact
from tap_hubspot_gather.refresh_store import (
    PROJECT_ROOT_VARIABLE,
    REFRESH_TOKEN_VARIABLE,
    set_variable,
)

EXIT_CONNECTED = 0
EXIT_NOT_CONNECTED = 1
EXIT_CANNOT_START = 2
EXIT_INTERRUPTED = 130
DEFAULT_PORT = 8976
DEFAULT_PATH = "/oauth-callback"
DEFAULT_TIMEOUT_S = 300.0
# How long to wait for a browser to report that it could not start.
BROWSER_START_S = 2.0
CHECK_COMMAND = "meltano invoke tap-hubspot-gather:check --format text"
PREFIX = "connect: "


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = command_parser(
        "tap-hubspot-gather-connect",
        "Connect your HubSpot account: approve the app in your browser, and the refresh "
        "token is stored in the Meltano project's .env.",
        exit_codes="0 connected, 1 not connected, 2 cannot start",
        needs="Needs client_id and client_secret.",
    )
    browser = p.add_mutually_exclusive_group()
    browser.add_argument(
        "--no-browser",
        dest="browser",
        action="store_false",
        help="Only print the URL to open (e.g. on a machine without a browser).",
    )
    browser.add_argument(
        "--browser",
        dest="browser",
        action="store_true",
        help="Open the consent page in your browser (the default).",
    )
    p.set_defaults(browser=True)
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="Loopback port of the redirect URL http://localhost:PORT/oauth-callback, as "
        "registered in your app (default %(default)s; 0 picks a free one).",
    )
    p.add_argument(
        "--redirect-path",
        default=DEFAULT_PATH,
        help="Path of the redirect URL (default %(default)s).",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help="How long to wait for you to approve (default %(default)s).",
    )
    p.add_argument(
        "--env-file",
        type=Path,
        help="Where to store the refresh token (default: the Meltano project's .env, "
        f"${PROJECT_ROOT_VARIABLE}/.env, else ./.env).",
    )
    p.add_argument(
        "--authorize-url",
        help="HubSpot's authorize page (default: derived from api_url, "
        "https://app.hubspot.com/oauth/authorize for HubSpot itself).",
    )
    return p


def _env_file(args: argparse.Namespace) -> Path:
    if args.env_file is not None:
        return Path(args.env_file).resolve()
    root = os.environ.get(PROJECT_ROOT_VARIABLE)
    return (Path(root) if root else Path.cwd()).resolve() / ".env"


def _open_browser(url: str) -> bool:
    """Open `url` in the user's browser; False when none could be started.

    In a thread: a browser named by $BROWSER runs until it exits (a console browser stays
    open while the user reads), and the redirect must be served meanwhile.
    """
    opened: list[bool] = []
    thread = threading.Thread(target=lambda: opened.append(webbrowser.open(url)), daemon=True)
    thread.start()
    thread.join(BROWSER_START_S)
    return not opened or opened[0]


def _wait_for_code(listener: CallbackListener, timeout_s: float) -> str:
    """The authorization code HubSpot redirected with, or one line saying why there is none."""
    try:
        redirect = listener.wait(timeout_s)
    except TimeoutError:
        if listener.refused_wrong_state:
            msg = (
                f"Only a redirect for another connect run (its state did not match) came "
                f"back within {timeout_s:g} s, and it was refused. Run connect again and "
                "use the link it prints."
            )
            raise ConnectError(msg) from None
        msg = (
            f"Nothing came back within {timeout_s:g} s. If HubSpot's page said the "
            f"redirect URL does not match, add {listener.redirect_uri} to your app's "
            "Redirect URLs (or pass --port); otherwise run connect again and approve sooner."
        )
        raise ConnectError(msg) from None
    if redirect.error == "access_denied":
        msg = "You cancelled on HubSpot's page: nothing was connected or stored."
        raise ConnectError(msg)
    if redirect.error:
        said = f" ({redirect.description})" if redirect.description else ""
        msg = f"HubSpot answered {redirect.error}{said}: nothing was stored; run connect again."
        raise ConnectError(msg)
    return redirect.code


def connect(args: argparse.Namespace, out: TextIO) -> int:
    """Run the flow; returns the exit code. Raises `SettingsError` / `ConnectError`."""
    settings = load(args.config)
    api_url, client_id, client_secret = app_credentials(settings)
    paths = api_paths(settings)
    try:
        listener = CallbackListener(args.port, args.redirect_path, state := new_state())
    except ConnectError as exc:
        raise SettingsError(str(exc)) from None
    app = OAuthApp(api_url, client_id, client_secret, paths)
    pkce = Pkce.new()
    try:
        url = authorize_url(
            args.authorize_url or authorize_base(api_url),
            client_id,
            listener.redirect_uri,
            state,
            pkce,
        )
        print(f"{PREFIX}approve read access to your companies and contacts at:", file=out)
        print(f"  {url}", file=out)
        if args.browser and not _open_browser(url):
            print(f"{PREFIX}no browser could be opened here: open the URL above.", file=out)
        print(
            f"{PREFIX}waiting up to {args.timeout:g} s for HubSpot to redirect to "
            f"{listener.redirect_uri} ...",
            file=out,
            flush=True,
        )
        code = _wait_for_code(listener, args.timeout)
        tokens = app.exchange(code, listener.redirect_uri, pkce)
        grant = app.grant(tokens)
        if grant.missing_scopes:
            msg = (
                f"The grant lacks the scope(s) {', '.join(grant.missing_scopes)}: add them to "
                "your app's scopes (app-hsmeta.json, then `hs project upload`) and sign in as a "
                "user allowed to read companies and contacts, then run connect again. Nothing "
                "was stored."
            )
            raise ConnectError(msg)
        app.verify(tokens)
    finally:
        listener.close()
        app.close()
    env_file = _env_file(args)
    try:
        set_variable(env_file, REFRESH_TOKEN_VARIABLE, tokens.refresh_token)
    except (OSError, ValueError) as exc:
        msg = redact(
            f"Could not store the refresh token in {env_file}: {exc}", [tokens.refresh_token]
        )
        raise ConnectError(msg) from None
    portal = f"{grant.hub_id}" + (f" ({grant.hub_domain})" if grant.hub_domain else "")
    who = f" as {grant.user}" if grant.user else ""
    print(f"{PREFIX}connected to HubSpot portal {portal}{who}", file=out)
    print(f"{PREFIX}granted scopes: {', '.join(sorted(grant.scopes))}", file=out)
    print(f"{PREFIX}refresh token stored in {env_file} as {REFRESH_TOKEN_VARIABLE}", file=out)
    if settings.get("access_token"):
        print(
            f"{PREFIX}note: access_token is also set and takes precedence over OAuth; unset it "
            "(meltano config tap-hubspot-gather unset access_token) to sync with this connection.",
            file=out,
        )
    print(f"next: check the portal before the first sync: {CHECK_COMMAND}", file=out)
    return EXIT_CONNECTED


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Console entry point; returns the exit code (also used by `python -m`)."""
    out = stdout if stdout is not None else sys.stdout
    args = parser().parse_args(argv)
    try:
        return connect(args, out)
    except SettingsError as exc:
        print(f"{PREFIX}cannot start: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    except ConnectError as exc:
        print(f"{PREFIX}not connected: {exc}", file=sys.stderr)
        return EXIT_NOT_CONNECTED
    except KeyboardInterrupt:
        print(f"{PREFIX}interrupted: nothing was stored.", file=sys.stderr)
        return EXIT_INTERRUPTED
