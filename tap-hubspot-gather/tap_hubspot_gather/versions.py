"""HubSpot API versions, their support windows, and the one place every HubSpot path is built.

HubSpot versions its APIs by date since March 2026: `/{api}/{YYYY-MM}/{resource}`, e.g.
`GET /crm/objects/2026-09/contacts` (https://developers.hubspot.com/docs/api-reference/2026-03/overview).
A version is Current for 6 months after its release and Supported until 18 months after it,
then Unsupported: no fixes, "developers should not expect ongoing stability"
(https://developers.hubspot.com/docs/developer-tooling/platform/versioning). The semantic
versions the tap used before (`/crm/v3/...`, associations `/crm/v4/...`) stay selectable as
`v3`, an explicit legacy choice: HubSpot stops supporting v4 on 2027-03-30
(https://developers.hubspot.com/changelog/deprecating-support-for-hubspot-v4-apis) and v1-v3 in
September 2027 (https://developers.hubspot.com/changelog/legacy-apis-and-legacy-apps-whats-going-unsupported-and-when).

OAuth does not follow `api_version`: its v1 endpoints stop on 2027-02-16
(https://developers.hubspot.com/changelog/v1-oauth-api-deprecation), so every OAuth call uses
the 2026-03 endpoints that changelog names, whatever CRM version is configured.

Interface (stable; other modules import it): `VERSIONS`, `DEFAULT_API_VERSION`,
`ALLOWED_API_VERSIONS`, `ApiVersion`, `UnknownApiVersionError`, `api_version(name)`,
`HubSpotPaths` (and `paths_for(name)`), `OAUTH_TOKEN_PATH`, `OAUTH_INTROSPECT_PATH`,
`OAUTH_REVOKE_PATH`.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

# "After 18 months, the version becomes unsupported" (versioning page above).
SUPPORTED_MONTHS = 18


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, clamped to the last day of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class ApiVersion:
    """One HubSpot API version the tap can call, with the dates that bound its support."""

    name: str  # as configured and as it appears in paths: "2026-09", "2026-03", "v3"
    released: dt.date | None  # None: legacy, whose end is announced instead
    source: str  # public URL for the release date (legacy: for its end)
    legacy: bool = False  # semantic-versioned paths (/crm/v3, /crm/v4 associations)
    # Legacy APIs have an announced end instead of the 18-month rule.
    unsupported_on: dt.date | None = None
    unsupported_source: str = ""

    @property
    def supported_until(self) -> dt.date:
        """The first day HubSpot no longer supports this version."""
        if self.unsupported_on is not None:
            return self.unsupported_on
        assert self.released is not None  # a date version always has one
        return add_months(self.released, SUPPORTED_MONTHS)

    def is_supported(self, today: dt.date) -> bool:
        """Whether `today` is still inside HubSpot's Supported window."""
        return today < self.supported_until


VERSIONS: dict[str, ApiVersion] = {
    version.name: version
    for version in (
        ApiVersion(
            "2026-09",
            # GA on Sept 8, 2026 (https://developers.hubspot.com/changelog/crm-api-write-validation-enforcement).
            dt.date(2026, 9, 8),
            "https://developers.hubspot.com/changelog/crm-api-write-validation-enforcement",
        ),
        ApiVersion(
            "2026-03",
            # "Date-based versioning started March 30, 2026"
            # (https://developers.hubspot.com/docs/api-reference/legacy/migration-guide).
            dt.date(2026, 3, 30),
            "https://developers.hubspot.com/docs/api-reference/legacy/migration-guide",
        ),
        ApiVersion(
            "v3",
            # Semantic versions have no 18-month window: their end is announced. v1-v3 are
            # unsupported from September 2027, v4 associations (the v3 family's association
            # reads) from 2027-03-30: the earlier date counts.
            None,
            "https://developers.hubspot.com/changelog/legacy-apis-and-legacy-apps-whats-going-unsupported-and-when",
            legacy=True,
            unsupported_on=dt.date(2027, 3, 30),
            unsupported_source="https://developers.hubspot.com/changelog/deprecating-support-for-hubspot-v4-apis",
        ),
    )
}
DEFAULT_API_VERSION = "2026-09"
ALLOWED_API_VERSIONS: tuple[str, ...] = tuple(VERSIONS)

# OAuth 2026-03 endpoints, relative to the API base URL: form body only; RFC 6749 errors
# (https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide,
# https://developers.hubspot.com/changelog/v1-oauth-api-deprecation).
OAUTH_VERSION = "2026-03"
OAUTH_TOKEN_PATH = f"/oauth/{OAUTH_VERSION}/token"
OAUTH_INTROSPECT_PATH = f"/oauth/{OAUTH_VERSION}/token/introspect"
OAUTH_REVOKE_PATH = f"/oauth/{OAUTH_VERSION}/token/revoke"

# The Webhooks Journal and its subscriptions: 2026-03, whatever the CRM version, as OAuth
# (https://developers.hubspot.com/docs/api-reference/latest/webhooks-journal/guide).
JOURNAL_VERSION = "2026-03"
JOURNAL_LOCAL_PATH = f"/webhooks-journal/journal-local/{JOURNAL_VERSION}"
JOURNAL_SUBSCRIPTIONS_PATH = f"/webhooks-journal/subscriptions/{JOURNAL_VERSION}"


class UnknownApiVersionError(ValueError):
    """An `api_version` the tap does not know; the message names the allowed values."""


def api_version(name: str | None) -> ApiVersion:
    """The version called `name` (None or empty: the default), or one line saying what to set."""
    key = str(name or DEFAULT_API_VERSION).strip()
    try:
        return VERSIONS[key]
    except KeyError:
        msg = (
            f"api_version {key!r} is not a HubSpot API version this tap knows: set it to one of "
            f"{', '.join(ALLOWED_API_VERSIONS)} (default {DEFAULT_API_VERSION}; v3 is legacy)."
        )
        raise UnknownApiVersionError(msg) from None


def _segment(value: str) -> str:
    """An object type or record id as one path segment."""
    return quote(str(value), safe="")


@dataclass(frozen=True)
class HubSpotPaths:
    """Every HubSpot path the plugins call, for one API version (relative to `api_url`).

    Date-versioned: the version sits after `objects`/`properties`/`associations`, not after
    `crm` (https://developers.hubspot.com/docs/api-reference/2026-03/overview). Legacy `v3`:
    `/crm/v3/...` and associations on `/crm/v4/...`.
    """

    version: ApiVersion

    @property
    def _objects(self) -> str:
        v = self.version.name
        return "/crm/v3/objects" if self.version.legacy else f"/crm/objects/{v}"

    def objects(self, object_type: str) -> str:
        """List: `GET`, paged with `after`."""
        return f"{self._objects}/{_segment(object_type)}"

    def object_by_id(self, object_type: str, object_id: str) -> str:
        """One record: `GET`."""
        return f"{self.objects(object_type)}/{_segment(object_id)}"

    def search(self, object_type: str) -> str:
        """Search: `POST`."""
        return f"{self.objects(object_type)}/search"

    def batch_read(self, object_type: str) -> str:
        """Batch read by id: `POST`, answered 200 or 207 with `errors[]`."""
        return f"{self.objects(object_type)}/batch/read"

    def properties(self, object_type: str) -> str:
        """Property definitions: `GET`, not paged."""
        if self.version.legacy:
            return f"/crm/v3/properties/{_segment(object_type)}"
        return f"/crm/properties/{self.version.name}/{_segment(object_type)}"

    def associations_batch_read(self, from_type: str, to_type: str) -> str:
        """Associations of many records: `POST`, answered 200 or 207 with `errors[]`."""
        pair = f"{_segment(from_type)}/{_segment(to_type)}"
        if self.version.legacy:
            return f"/crm/v4/associations/{pair}/batch/read"
        return f"/crm/associations/{self.version.name}/{pair}/batch/read"

    def account_details(self) -> str:
        """The portal's id, time zone and domain: `GET`."""
        v = "v3" if self.version.legacy else self.version.name
        return f"/account-info/{v}/details"

    # OAuth: one version for every CRM version (see the module docstring).
    oauth_token = OAUTH_TOKEN_PATH
    oauth_introspect = OAUTH_INTROSPECT_PATH
    oauth_revoke = OAUTH_REVOKE_PATH


def paths_for(name: str | None) -> HubSpotPaths:
    """The paths of the version called `name` (None: the default); unknown names refused."""
    return HubSpotPaths(api_version(name))


def ends_paging(body: object) -> bool:
    """Whether a list or search answer is the last page.

    2026-09 documents `paging` as "omitted or empty on the last page"
    (https://github.com/HubSpot/HubSpot-public-api-spec-collection, CRM contacts 2026-09
    `ForwardPaging`): a missing, empty or non-object `paging` or `paging.next` ends it.
    """
    if not isinstance(body, dict):
        return True
    paging = body.get("paging")
    if not isinstance(paging, dict):
        return True
    nxt = paging.get("next")
    return not (isinstance(nxt, dict) and nxt)
