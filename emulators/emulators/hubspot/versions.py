"""HubSpot's API versions: the date-versioned CRM paths and what a version segment may be.

Since March 2026 HubSpot versions its APIs by date in the path, after the API's name:
`/crm/objects/2026-03/contacts`, `/crm/properties/2026-09/companies`,
`/crm/associations/2026-03/contacts/companies/batch/read`
(https://developers.hubspot.com/docs/developer-tooling/platform/versioning,
https://developers.hubspot.com/docs/api-reference/2026-03/overview). `2026-03` and `2026-09`
are the GA versions; their schemas are those of v3/v4, so the emulator serves them from the
same handlers and data. One difference: from 2026-09 `ForwardPaging` is "omitted or empty on
the last page", and the emulator sends the empty `"paging": {}` there.

A version segment the emulator does not serve (`2025-09`, a beta, a typo) is a 404 with
HubSpot's error body naming the served versions: HubSpot does not document its answer, and a
404 is what it answers for paths it does not serve (our choice).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from emulators.hubspot.errors import HubSpotError, error_body

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The date-based versions served, oldest first.
DATE_VERSIONS = ("2026-03", "2026-09")
# Versions whose last list or search page carries an empty `paging` object.
EMPTY_LAST_PAGING = frozenset({"2026-09"})
VERSION_KEY = "version"


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


def empty_last_paging(request: web.Request) -> bool:
    """Whether the last page of a list or search ends with `"paging": {}` on this path."""
    return request.match_info.get(VERSION_KEY) in EMPTY_LAST_PAGING
