"""Everything one emulator instance holds, shared by the HubSpot routes and the admin API."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from emulators.common.faults import FaultPlan
from emulators.common.stats import RequestStats
from emulators.hubspot.auth import Auth
from emulators.hubspot.config import EmulatorConfig
from emulators.hubspot.limits import RateLimiter
from emulators.hubspot.model import Store
from emulators.hubspot.search import SearchEngine
from emulators.hubspot.webhooks import Webhooks

ADMIN_PREFIX = "/_emulator"


@dataclass
class HubSpotState:
    """The portal's data and the emulator's knobs; `store` is replaced on reset and seed."""

    config: EmulatorConfig = field(default_factory=EmulatorConfig)
    auth: Auth = field(default_factory=Auth)
    store: Store = field(default_factory=Store)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    search: SearchEngine = field(default_factory=SearchEngine)
    faults: FaultPlan = field(default_factory=FaultPlan)
    stats: RequestStats = field(default_factory=RequestStats)
    # The app's journal subscriptions and journal; hears every change of `store`.
    webhooks: Webhooks = field(default_factory=Webhooks)

    def __post_init__(self) -> None:
        self.webhooks.attach(self.store)


STATE_KEY = web.AppKey("hubspot_state", HubSpotState)


def state_of(request: web.Request) -> HubSpotState:
    """The instance state behind a request."""
    return request.app[STATE_KEY]
