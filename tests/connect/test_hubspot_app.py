"""The HubSpot developer project of the app `connect` uses (`hubspot-app/`), checked offline
against HubSpot's documented project and app configuration shape.

Sources:
- project layout, `hsproject.json` and the `app-hsmeta.json` app schema (required fields, their
  limits): https://developers.hubspot.com/docs/apps/developer-platform/build-apps/app-configuration
- `auth.type` `oauth` or `static`, `distribution` `marketplace` or `private`:
  https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/overview
- platform versions a supported app may use (2025.2, 2026.03):
  https://developers.hubspot.com/changelog/app-listing-and-app-certification-requirement-updates-for-may-2026
- HubSpot's own private OAuth app component (same keys):
  https://github.com/HubSpot/hubspot-project-components, `2025.2/components/app/oauth-private`
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tap_hubspot_gather.connect.cli import DEFAULT_PATH, DEFAULT_PORT
from tap_hubspot_gather.connect.oauth import REQUIRED_SCOPES
from tests.conftest import ROOT

PROJECT = ROOT / "hubspot-app"
PLATFORM_VERSIONS = {"2025.2", "2026.03"}
UID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
NAME_MAX, DESCRIPTION_MAX = 200, 8192
APP_KEYS = {"uid", "type", "config"}
CONFIG_REQUIRED = {"description", "name", "distribution", "auth"}
CONFIG_KEYS = CONFIG_REQUIRED | {"permittedUrls", "support"}
AUTH_KEYS = {"type", "redirectUrls", "requiredScopes", "optionalScopes"}
AUTH_KEYS |= {"conditionallyRequiredScopes"}
PERMITTED_URL_KINDS = {"fetch", "iframe", "img"}
SUPPORT_KEYS = {"supportEmail", "documentationUrl", "supportUrl", "supportPhone"}


def _json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def _app_files() -> list[Path]:
    project = _json(PROJECT / "hsproject.json")
    return sorted((PROJECT / project["srcDir"] / "app").glob("*-hsmeta.json"))


def test_the_project_file_names_a_source_folder_and_a_supported_platform_version() -> None:
    project = _json(PROJECT / "hsproject.json")
    assert set(project) == {"name", "srcDir", "platformVersion"}
    assert project["name"].strip() == project["name"] != ""
    assert (PROJECT / project["srcDir"]).is_dir()
    assert project["platformVersion"] in PLATFORM_VERSIONS


def test_the_project_has_exactly_one_app_component_in_src_app() -> None:
    files = _app_files()
    assert [f.name for f in files] == ["app-hsmeta.json"]
    app = _json(files[0])
    assert set(app) == APP_KEYS
    assert app["type"] == files[0].parent.name == "app"  # type matches its folder
    assert UID.fullmatch(app["uid"])


def test_the_app_fields_follow_the_documented_schema() -> None:
    config = _json(_app_files()[0])["config"]
    assert CONFIG_REQUIRED <= set(config) <= CONFIG_KEYS
    assert 0 < len(config["name"]) <= NAME_MAX
    assert config["name"] == config["name"].strip()
    assert 0 < len(config["description"]) <= DESCRIPTION_MAX
    assert set(config.get("permittedUrls", {})) <= PERMITTED_URL_KINDS
    support = config.get("support", {})
    assert set(support) <= SUPPORT_KEYS
    assert all(str(url).startswith("https://") for key, url in support.items() if "Url" in key)


def test_it_is_a_private_oauth_app_with_exactly_the_taps_four_scopes() -> None:
    config = _json(_app_files()[0])["config"]
    assert config["distribution"] == "private"
    auth = config["auth"]
    assert set(auth) <= AUTH_KEYS
    assert auth["type"] == "oauth"
    assert sorted(auth["requiredScopes"]) == sorted(REQUIRED_SCOPES)
    assert len(auth["requiredScopes"]) == len(set(auth["requiredScopes"])) == 4
    assert auth.get("optionalScopes", []) == []
    assert auth.get("conditionallyRequiredScopes", []) == []


def test_its_only_redirect_url_is_connects_default_loopback_one() -> None:
    auth = _json(_app_files()[0])["config"]["auth"]
    assert auth["redirectUrls"] == [f"http://localhost:{DEFAULT_PORT}{DEFAULT_PATH}"]


def test_the_readme_says_what_to_run() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    for command in ("hs account auth", "hs project upload", "tap-hubspot-gather:connect"):
        assert command in readme
