"""HubSpot's API versions: the date-versioned CRM paths and what a version segment may be.

Since March 2026 HubSpot versions its APIs by date in the path, after the API's name:
`/crm/objects/2026-03/contacts`, `/crm/properties/2026-09/companies`,
`/crm/associations/2026-03/contacts/companies/batch/read`
(https://developers.hubspot.com/docs/developer-tooling/platform/versioning,
https://developers.hubspot.com/docs/api-reference/2026-03/overview). `2026-03` and `2026-09`
are the GA versions; their schemas are those of v3/v4, so the emulator serves them from the
same handlers and data. One difference: from 2026-09 `ForwardPaging` is "omitted or empty on
the last page", and the emulator sends the empty `"paging": {}` there.

Retiring the legacy APIs (config `legacy_apis: false`, CLI `--retire-legacy-apis`) shows a
portal after HubSpot's announced dates: `/crm/v3/*` (unsupported from September 2027,
https://developers.hubspot.com/changelog/legacy-apis-and-legacy-apps-whats-going-unsupported-and-when),
`/crm/v4/associations/*` (from 2027-03-30) and `/oauth/v1/*` (sunset 2027-02-16,
https://developers.hubspot.com/changelog/v1-oauth-api-deprecation). HubSpot documents a sunset
API as answering 404 (Contact Lists v1 "will return HTTP 404" after its sunset,
https://developers.hubspot.com/changelog/tag/api?kbid=111697) and does not give the body, so a
retired path answers 404 with HubSpot's error body (`category` `OBJECT_NOT_FOUND`,
`subCategory` `API_RETIRED`) whose message and `links.replacement` name the date-versioned
replacement, before authentication (our choice).

A version segment the emulator does not serve (`2025-09`, a beta, a typo) is a 404 with
HubSpot's error body naming the served versions: HubSpot does not document its answer, and a
404 is what it answers for paths it does not serve (our choice).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from emulators.hubspot.errors import HubSpotError, error_body
from emulators.hubspot.state import state_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The date-based versions served, oldest first.
DATE_VERSIONS = ("2026-03", "2026-09")
# Versions whose last list or search page carries an empty `paging` object.
EMPTY_LAST_PAGING = frozenset({"2026-09"})
VERSION_KEY = "version"
# The version the replacement of a retired CRM path names (the current one).
CURRENT_VERSION = DATE_VERSIONS[-1]
# OAuth's replacement version, the one HubSpot's v1 deprecation notice names.
OAUTH_REPLACEMENT_VERSION = "2026-03"
MIGRATION_GUIDE = "https://developers.hubspot.com/docs/api-reference/legacy/migration-guide"
# Legacy path prefixes the retirement switch retires, with their replacement's prefix.
LEGACY_FAMILIES = (
    ("/crm/v4/associations/", f"/crm/associations/{CURRENT_VERSION}/"),
    ("/oauth/v1/token", f"/oauth/{OAUTH_REPLACEMENT_VERSION}/token"),
    ("/oauth/v1/access-tokens/", f"/oauth/{OAUTH_REPLACEMENT_VERSION}/token/introspect"),
    ("/oauth/v1/refresh-tokens/", f"/oauth/{OAUTH_REPLACEMENT_VERSION}/token/revoke"),
    ("/oauth/v1/", f"/oauth/{OAUTH_REPLACEMENT_VERSION}/token"),
    ("/crm/v3/", "/crm/"),
)


def unknown_version(version: str, path: str) -> HubSpotError:
    """The 404 for a version segment the emulator does not serve."""
    message = (
        f"No API version {version!r} at {path}: the served versions are {', '.join(DATE_VERSIONS)}."
    )
    return HubSpotError(404, error_body("OBJECT_NOT_FOUND", message))


@web.middleware
async def date_versions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a date-versioned CRM path whose version segment is not served."""
    version = request.match_info.get(VERSION_KEY)
    if version is not None and version not in DATE_VERSIONS:
        raise unknown_version(version, request.path)
    return await handler(request)


def legacy_replacement(path: str) -> str | None:
    """The date-versioned replacement of a legacy path, or None for a path that is not legacy.
    Never echoes a token: OAuth v1 paths that carry one map to a fixed replacement."""
    for prefix, replacement in LEGACY_FAMILIES:
        if not path.startswith(prefix):
            continue
        if prefix == "/crm/v3/":  # /crm/v3/objects/contacts/1 -> /crm/objects/2026-09/contacts/1
            api, _, rest = path.removeprefix(prefix).partition("/")
            return f"/crm/{api}/{CURRENT_VERSION}" + (f"/{rest}" if rest else "")
        if prefix.startswith("/crm/"):
            return replacement + path.removeprefix(prefix)
        return replacement
    return None


def retired(replacement: str) -> HubSpotError:
    """The 404 of a retired legacy API, naming its replacement."""
    message = (
        f"This API version has been sunset and no longer answers; use {replacement} instead "
        f"(see {MIGRATION_GUIDE})."
    )
    body = error_body("OBJECT_NOT_FOUND", message, sub_category="API_RETIRED")
    body["links"] = {"replacement": replacement, "migration-guide": MIGRATION_GUIDE}
    return HubSpotError(404, body)


@web.middleware
async def legacy_retirement(request: web.Request, handler: Handler) -> web.StreamResponse:
    """When the legacy APIs are retired, answer their paths with the sunset 404."""
    if not state_of(request).config.legacy_apis:
        replacement = legacy_replacement(request.path)
        if replacement is not None:
            raise retired(replacement)
    return await handler(request)


def empty_last_paging(request: web.Request) -> bool:
    """Whether the last page of a list or search ends with `"paging": {}` on this path."""
    return request.match_info.get(VERSION_KEY) in EMPTY_LAST_PAGING
