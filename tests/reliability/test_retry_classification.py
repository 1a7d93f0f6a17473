"""Spent retries are classified from the answer's status, and a refused search pauses searches.

The client knows both the status and whether a request is a search when it retries; these tests
pin that the error class, its `status` and the paused budget follow from them (not from the
wording of the problem or the shape of the path).
"""

from __future__ import annotations

import pytest

from emulators.hubspot.pytest_plugin import HubSpotEmulator
from tap_hubspot_gather.auth import StaticToken
from tap_hubspot_gather.budget import RequestBudget
from tap_hubspot_gather.client import HubSpotClient
from tap_hubspot_gather.errors import HubSpotError, HubSpotRateLimitError

SEARCH_PATH = "/crm/objects/2026-09/contacts/search"
LIST_PATH = "/crm/objects/2026-09/contacts"
RETRY_AFTER_S = 30.0


class FakeTime:
    """A clock the budget's sleeps advance, so a pause is observable without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client_for(hubspot: HubSpotEmulator, fake: FakeTime) -> HubSpotClient:
    budget = RequestBudget(clock=fake.clock, sleep=fake.sleep)
    return HubSpotClient(
        hubspot.url,
        StaticToken(hubspot.token),
        budget=budget,
        max_retries=1,
        sleep=lambda _s: None,
    )


def test_a_search_refused_until_retries_are_spent_is_a_rate_limit_error_with_its_status(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    hubspot_emulator.seed(companies=1, contacts=3)
    hubspot_emulator.set_faults(
        [{"path": SEARCH_PATH, "status": 429, "retry_after": "30", "times": None}]
    )
    fake = FakeTime()
    client = client_for(hubspot_emulator, fake)
    with pytest.raises(HubSpotRateLimitError, match="failed after 2 attempts") as caught:
        client.post(SEARCH_PATH, {"limit": 1}, search=True)
    assert caught.value.status == 429
    # The second search waited out the Retry-After in the search budget...
    assert any(s >= RETRY_AFTER_S - 1 for s in fake.slept)
    # ...and the 10-second budget (lists, batch reads) was not paused by it.
    assert client.budget.acquire(search=False) == 0


def test_a_list_refused_until_retries_are_spent_pauses_the_burst_budget_not_searches(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    hubspot_emulator.seed(companies=1, contacts=3)
    hubspot_emulator.set_faults(
        [{"path": LIST_PATH, "status": 429, "retry_after": "30", "times": None}]
    )
    fake = FakeTime()
    client = client_for(hubspot_emulator, fake)
    with pytest.raises(HubSpotRateLimitError) as caught:
        client.get(LIST_PATH, {"limit": "1"})
    assert caught.value.status == 429
    assert any(s >= RETRY_AFTER_S - 1 for s in fake.slept)
    assert client.budget.acquire(search=True) == 0


def test_a_server_error_until_retries_are_spent_is_not_a_rate_limit_error(
    hubspot_emulator: HubSpotEmulator,
) -> None:
    hubspot_emulator.seed(companies=1, contacts=3)
    hubspot_emulator.set_faults([{"path": LIST_PATH, "status": 503, "times": None}])
    client = client_for(hubspot_emulator, FakeTime())
    with pytest.raises(HubSpotError, match="failed after 2 attempts") as caught:
        client.get(LIST_PATH, {"limit": "1"})
    assert not isinstance(caught.value, HubSpotRateLimitError)
    assert caught.value.status == 503
