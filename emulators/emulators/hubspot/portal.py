"""Who this emulated HubSpot account is: its hub (portal) id, domain and account details.

One `Portal` per emulator instance, so two emulated portals can run side by side with distinct
hub ids (and, seeded alike, colliding record ids). The hub id appears in OAuth token answers,
token introspection, the consent page and `GET /account-info/{v3|2026-03|2026-09}/details`,
whose answer follows the spec's `PortalInformationResponse` (every field required:
`portalId`, `accountType`, `timeZone`, `companyCurrency`, `additionalCurrencies`, `utcOffset`,
`utcOffsetMilliseconds`, `uiDomain`, `dataHostingLocation`; HubSpot's spec collection,
https://github.com/HubSpot/HubSpot-public-api-spec-collection, `PublicApiSpecs/Account/Account
Info/Rollouts/144923/2026-03/accountInfo.json`). The spec asks for the `oauth` scope, which
every OAuth install has; whether a Service Key may call it is not documented, so any
authenticated caller may (our choice).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from emulators.hubspot.errors import json_response

# The default portal id (any int32; HubSpot's are 6-9 digits) and its domain.
HUB_ID = 24_680_135
HUB_DOMAIN = "emulator-portal.hubspot.com"
# The account details' enumerated `accountType` values (PortalInformationResponse).
ACCOUNT_TYPES = ("APP_DEVELOPER", "DEVELOPER_TEST", "SANDBOX", "STANDARD")
# Versions of the account-info API the emulator serves.
ACCOUNT_INFO_VERSIONS = ("v3", "2026-03", "2026-09")
MAX_HUB_ID = 2**31 - 1  # `portalId` and `hub_id` are int32 in the specs
MS_PER_MINUTE = 60_000


class PortalError(ValueError):
    """A portal setting given on the command line or to the fixtures is malformed."""


@dataclass(frozen=True)
class Portal:
    """The emulated account's identity and settings."""

    hub_id: int = HUB_ID
    hub_domain: str = ""
    account_type: str = "STANDARD"
    time_zone: str = "US/Eastern"
    company_currency: str = "USD"
    data_hosting_location: str = "na1"

    def __post_init__(self) -> None:
        if isinstance(self.hub_id, bool) or not isinstance(self.hub_id, int):
            msg = f"hub id must be an integer, got {self.hub_id!r}"
            raise PortalError(msg)
        if not 1 <= self.hub_id <= MAX_HUB_ID:
            msg = f"hub id must be between 1 and {MAX_HUB_ID} (an int32), got {self.hub_id}"
            raise PortalError(msg)
        if self.account_type not in ACCOUNT_TYPES:
            msg = f"account type must be one of {', '.join(ACCOUNT_TYPES)}"
            raise PortalError(msg)
        if not self.hub_domain:
            default = (
                HUB_DOMAIN
                if self.hub_id == HUB_ID
                else f"emulator-portal-{self.hub_id}.hubspot.com"
            )
            object.__setattr__(self, "hub_domain", default)

    @property
    def ui_domain(self) -> str:
        """The domain of HubSpot's UI for this account's data hosting location."""
        return (
            "app.hubspot.com"
            if self.data_hosting_location == "na1"
            else (f"app-{self.data_hosting_location}.hubspot.com")
        )

    def details(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """`PortalInformationResponse`: the account details."""
        moment = now or dt.datetime.now(dt.timezone.utc)
        offset = moment.astimezone(ZoneInfo(self.time_zone)).utcoffset() or dt.timedelta()
        offset_ms = int(offset.total_seconds() * 1000)
        sign = "-" if offset_ms < 0 else "+"
        minutes = abs(offset_ms) // MS_PER_MINUTE
        return {
            "portalId": self.hub_id,
            "accountType": self.account_type,
            "timeZone": self.time_zone,
            "companyCurrency": self.company_currency,
            "additionalCurrencies": [],
            "utcOffset": f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
            "utcOffsetMilliseconds": offset_ms,
            "uiDomain": self.ui_domain,
            "dataHostingLocation": self.data_hosting_location,
        }


PORTAL_KEY = web.AppKey("hubspot_portal", Portal)


async def account_details(request: web.Request) -> web.Response:
    """`GET /account-info/{version}/details`."""
    return json_response(request.app[PORTAL_KEY].details())


async def portal_identity(request: web.Request) -> web.Response:
    """`GET /_emulator/portal` (admin, no auth): the hub id and domain of this instance."""
    portal = request.app[PORTAL_KEY]
    return json_response({"hub_id": portal.hub_id, "hub_domain": portal.hub_domain})


def add_portal_routes(app: web.Application, portal: Portal, admin_prefix: str) -> None:
    """Register the account-info paths of every served version and the admin identity."""
    app[PORTAL_KEY] = portal
    for version in ACCOUNT_INFO_VERSIONS:
        app.router.add_get(f"/account-info/{version}/details", account_details)
    app.router.add_get(admin_prefix + "/portal", portal_identity)
