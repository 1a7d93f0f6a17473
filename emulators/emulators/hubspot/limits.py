"""HubSpot's request budgets: the rolling burst window per token, search per second, daily.

Search requests are exempt from the burst window ("x-hubspot-rate-limit-exemptions":
["ten-secondly"] in the spec) and carry no rate-limit headers; they have their own
per-second limit per account. Every request counts toward the daily limit. A refused request
does not consume budget. Headers: `X-HubSpot-RateLimit-Max`, `-Remaining`,
`-Interval-Milliseconds`, and for private-app tokens `-Daily` and `-Daily-Remaining` (HubSpot
omits the daily pair for OAuth tokens); see
https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from emulators.hubspot.config import EmulatorConfig
from emulators.hubspot.errors import (
    DAILY_MESSAGE,
    SECONDLY_MESSAGE,
    TEN_SECONDLY_MESSAGE,
    HubSpotError,
    rate_limit_body,
)

Budget = Literal["burst", "search", "exempt"]
SEARCH_WINDOW_S = 1.0  # "five requests per second per account" (D-search)
DAY_S = 86_400.0


@dataclass
class Verdict:
    """The outcome of one request's budget check: headers to add, or the error to answer."""

    headers: dict[str, str] = field(default_factory=dict)
    error: HubSpotError | None = None


class RateLimiter:
    """Sliding-window counters; `clock` is monotonic seconds (swappable in tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.burst: dict[str, deque[float]] = {}
        self.search: deque[float] = deque()
        self.daily_count = 0
        self.day_started = clock()

    def reset(self) -> None:
        """Forget every window and the daily count."""
        self.burst.clear()
        self.search.clear()
        self.daily_count = 0
        self.day_started = self.clock()

    def check(
        self, config: EmulatorConfig, token_key: str, *, kind: Budget, oauth: bool
    ) -> Verdict:
        """Admit or refuse one request and say which headers describe the budget.

        `kind`: "burst" (most calls), "search" (per-second, no headers) or "exempt" (the
        association batch read, exempt from the burst window per the spec; daily only).
        """
        now = self.clock()
        if now - self.day_started >= DAY_S:
            self.daily_count, self.day_started = 0, now
        verdict = Verdict()
        daily = config.daily_limit
        if daily is not None and self.daily_count >= daily:
            verdict.error = self._refuse(
                config, "DAILY", DAILY_MESSAGE, self.day_started + DAY_S - now
            )
            return verdict
        if kind == "exempt":
            self.daily_count += 1
            return verdict
        if kind == "search":
            limit = config.search_per_second
            if limit is not None:
                _expire(self.search, now - SEARCH_WINDOW_S)
                if len(self.search) >= limit:
                    wait = self.search[0] + SEARCH_WINDOW_S - now
                    verdict.error = self._refuse(config, "SECONDLY", SECONDLY_MESSAGE, wait)
                    return verdict
                self.search.append(now)
            self.daily_count += 1
            return verdict
        window_s = config.burst_window_ms / 1000
        limit = config.burst_limit
        remaining: int | None = None
        if limit is not None:
            stamps = self.burst.setdefault(token_key, deque())
            _expire(stamps, now - window_s)
            if len(stamps) >= limit:
                wait = stamps[0] + window_s - now
                verdict.error = self._refuse(
                    config, "TEN_SECONDLY_ROLLING", TEN_SECONDLY_MESSAGE, wait
                )
                verdict.headers = self._headers(config, 0, oauth)
                verdict.error.headers.update(verdict.headers)
                return verdict
            stamps.append(now)
            remaining = limit - len(stamps)
        self.daily_count += 1
        verdict.headers = self._headers(config, remaining, oauth)
        return verdict

    def _headers(
        self, config: EmulatorConfig, remaining: int | None, oauth: bool
    ) -> dict[str, str]:
        headers: dict[str, str] = {}
        if config.burst_limit is not None and remaining is not None:
            headers["X-HubSpot-RateLimit-Max"] = str(config.burst_limit)
            headers["X-HubSpot-RateLimit-Remaining"] = str(max(remaining, 0))
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(config.burst_window_ms)
        if config.daily_limit is not None and not oauth:
            headers["X-HubSpot-RateLimit-Daily"] = str(config.daily_limit)
            left = config.daily_limit - self.daily_count
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(left, 0))
        return headers

    @staticmethod
    def _refuse(config: EmulatorConfig, policy: str, message: str, wait_s: float) -> HubSpotError:
        headers: dict[str, str] = {}
        if config.retry_after:
            headers["Retry-After"] = str(max(1, math.ceil(wait_s)))
        return HubSpotError(429, rate_limit_body(policy, message), headers)


def _expire(stamps: deque[float], horizon: float) -> None:
    while stamps and stamps[0] <= horizon:
        stamps.popleft()
