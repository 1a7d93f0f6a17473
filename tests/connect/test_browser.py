"""Connect in a real browser: Debian's headless Chromium, driven by Playwright, clicks the
HubSpot emulator's consent page; then the sync runs with the stored refresh token only.

`make test` installs Chromium (`apt-get install chromium`) when it is missing. Playwright's
Python package drives it over CDP and downloads no browser of its own.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from emulators.hubspot.auth import HUB_DOMAIN, HUB_ID
from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.connect.oauth import REQUIRED_SCOPES
from tests.conftest import BIN, MELTANO_ENV, ROOT, run_meltano
from tests.connect.conftest import connect_env, start_connect

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "output" / "test-artifacts"
SCREENSHOT = ARTIFACTS / "connect-consent-page.png"
PAGE_TIMEOUT_MS = 30_000
MELTANO_TIMEOUT_S = 300


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile (fails, never skips, when Chromium is missing)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package (`apt-get install -y "
            "chromium`; `make test` does this when run as root) or set CHROMIUM_PATH."
        )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 900, "height": 700},
        )
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


def _consent(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    page.goto(url)
    page.get_by_role("button", name="Connect app").wait_for()
    return page


@pytest.mark.meltano
def test_connect_in_chromium_then_sync_with_the_stored_refresh_token_only(
    hubspot: HubSpotEmulator, gather_emulator: Any, browser: BrowserContext, tmp_path: Path
) -> None:
    company = hubspot.create("companies", {"name": "Acme", "gather_account_id": "A-1"})["id"]
    hubspot.create(
        "contacts",
        {"email": "ada@example.com", "firstname": "Ada", "lastname": "L", "gather_user_id": "U-1"},
        company_ids=[company],
    )
    env_file = tmp_path / ".env"
    env = {
        **connect_env(hubspot),
        **MELTANO_ENV,
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "MELTANO_STATE_BACKEND_URI": (tmp_path / "state").as_uri(),
    }
    (tmp_path / "state").mkdir()
    # As users type it (any argument skips Meltano's discovery, which needs credentials).
    meltano = [str(BIN / "meltano"), "--env-file", str(env_file), "invoke"]
    run = start_connect(env, env_file, command=[*meltano, "tap-hubspot-gather:connect"])
    assert hubspot.config()["legacy_apis"] is False  # /crm/v3, /crm/v4, /oauth/v1 retired
    assert "code_challenge_method=S256" in run.url  # PKCE

    page = _consent(browser, run.url)
    assert page.locator("#portal").inner_text() == HUB_DOMAIN
    assert page.locator("#hub-id").inner_text() == str(HUB_ID)
    assert page.locator("#scopes li").all_inner_texts() == list(REQUIRED_SCOPES)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.get_by_role("button", name="Connect app").click()
    page.get_by_text("HubSpot is connected").wait_for()

    assert run.finish() == 0, run.stderr[-3000:]
    assert f"connected to HubSpot portal {HUB_ID}" in run.stdout
    assert "TAP_HUBSPOT_GATHER_REFRESH_TOKEN=" in env_file.read_text()
    oauth = {r: v["by_status"] for r, v in hubspot.stats()["routes"].items() if "/oauth/" in r}
    assert oauth["POST /oauth/2026-03/token"] == {"200": 1}  # the code, with the verifier
    assert oauth["POST /oauth/2026-03/token/introspect"] == {"200": 1}

    # The sync: OAuth app + the refresh token from .env; no access token anywhere.
    sync_env = {
        **env,
        "TAP_HUBSPOT_GATHER_ACCOUNT_ID_PROPERTY": "gather_account_id",
        "TAP_HUBSPOT_GATHER_USER_ID_PROPERTY": "gather_user_id",
        "TAP_HUBSPOT_GATHER_SEARCH_LAG_SECONDS": "0",
        "TARGET_GATHER_API_URL": gather_emulator.url,
        "TARGET_GATHER_API_KEY": gather_emulator.api_key,
        "TARGET_GATHER_LEDGER_PATH": str(tmp_path / "ledger.sqlite3"),
        "TARGET_GATHER_REJECTS_PATH": str(tmp_path / "rejects.jsonl"),
    }
    assert not any(k.endswith(("_ACCESS_TOKEN", "_REFRESH_TOKEN")) for k in sync_env)
    result = run_meltano(
        "--env-file",
        str(env_file),
        "--environment=prod",
        "run",
        "tap-hubspot-gather",
        "target-gather",
        env=sync_env,
        timeout=MELTANO_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    routes = hubspot.stats()["routes"]
    assert routes["POST /oauth/2026-03/token"]["by_status"]["200"] >= 2  # + the sync's refresh
    assert not [r for r in routes if "/crm/v3/" in r or "/crm/v4/" in r or "/oauth/v1/" in r]
    assert set(gather_emulator.records("account")) == {"A-1"}
    users = gather_emulator.records("user")
    assert set(users) == {"U-1"}
    assert users["U-1"]["account_id"] == "A-1"
    stored = env_file.read_text().split("=", 1)[1].strip().strip("'")
    assert stored not in result.stdout + result.stderr + run.stdout + run.stderr


def test_cancel_in_chromium_stores_nothing(
    hubspot: HubSpotEmulator, browser: BrowserContext, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    command = shutil.which("tap-hubspot-gather-connect", path=str(BIN))
    assert command is not None
    run = start_connect(connect_env(hubspot), env_file, command=[command])

    page = _consent(browser, run.url)
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("The app was not connected").wait_for()

    assert run.finish() == 1
    assert "You cancelled on HubSpot's page" in run.stderr
    assert not env_file.exists()
