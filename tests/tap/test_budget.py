"""The client-side request budget, on a simulated clock (no sleeping in tests)."""

from __future__ import annotations

from tap_hubspot_gather.budget import RequestBudget


class SimulatedClock:
    """A clock that only moves when the budget sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def starts_in_any_window(starts: list[float], window: float) -> int:
    return max(sum(1 for t in starts if s <= t < s + window) for s in starts)


def test_burst_budget_never_exceeds_the_learned_limit_in_any_10_seconds() -> None:
    clock = SimulatedClock()
    budget = RequestBudget(clock=clock, sleep=clock.sleep)
    budget.observe(
        {"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    )
    starts = []
    for _ in range(1000):
        budget.acquire()
        starts.append(clock.now)
    assert starts_in_any_window(starts, 10.0) <= 190
    # ...and uses most of it: 1,000 requests in about 1000/184*10 s.
    assert clock.now < 1000 / 190 * 10 * 1.1


def test_search_budget_allows_five_per_second_and_is_separate_from_the_burst_budget() -> None:
    clock = SimulatedClock()
    budget = RequestBudget(clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(50):
        budget.acquire(search=True)
        starts.append(clock.now)
    assert starts_in_any_window(starts, 1.0) <= 5
    assert clock.now < 50 / 5 * 1.1
    before = clock.now
    budget.acquire()  # a non-search request is not held back by the search window
    assert clock.now == before


def test_configured_ceiling_wins_over_a_higher_learned_limit() -> None:
    clock = SimulatedClock()
    budget = RequestBudget(burst_max=50, clock=clock, sleep=clock.sleep)
    budget.observe({"X-HubSpot-RateLimit-Max": "190"})
    assert budget.burst_limit <= 50


def test_nearly_spent_remaining_header_pauses_until_the_window_rolls() -> None:
    clock = SimulatedClock()
    budget = RequestBudget(clock=clock, sleep=clock.sleep)
    budget.acquire()
    budget.observe({"X-HubSpot-RateLimit-Remaining": "0"})
    budget.acquire()
    assert clock.now >= 10.0


def test_pause_after_429_holds_the_next_request() -> None:
    clock = SimulatedClock()
    budget = RequestBudget(clock=clock, sleep=clock.sleep)
    budget.pause(3.0)
    assert budget.acquire() == 3.0


def test_an_api_that_never_announces_a_burst_limit_is_not_throttled() -> None:
    clock = SimulatedClock()
    budget = RequestBudget(clock=clock, sleep=clock.sleep)
    for _ in range(500):
        budget.acquire()
        budget.observe({})
    assert clock.now == 0.0


def test_headerless_answers_do_not_lift_a_configured_ceiling_or_a_learned_limit() -> None:
    clock = SimulatedClock()
    capped = RequestBudget(burst_max=50, clock=clock, sleep=clock.sleep)
    learned = RequestBudget(clock=clock, sleep=clock.sleep)
    learned.observe({"X-HubSpot-RateLimit-Max": "190"})
    for _ in range(10):
        capped.observe({})
        learned.observe({})
        learned.observe({}, search=True)
    assert capped.burst_limit < 50
    assert learned.burst_limit < 190
