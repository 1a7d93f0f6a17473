"""Client-side request budget: stay under HubSpot's limits instead of bouncing off them.

Two independent limits
(https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines):
- the rolling 10-second burst limit on ordinary CRM calls (100 to 250 per 10 s depending on
  tier; learned from `X-HubSpot-RateLimit-Max` / `-Interval-Milliseconds` / `-Remaining`);
- the per-second limit on search calls (5 per second per account), which are exempt from
  the 10-second limit and carry no rate-limit headers.
Both are sliding windows over the start times of our own requests. A 429 pauses the affected
limit until its `Retry-After` (or a backoff) has passed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Lowest 10-second limit of any HubSpot plan (Free/Starter private apps: 100 per 10 s); used
# until a response tells us the real one
# (https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines).
DEFAULT_BURST_MAX = 100
DEFAULT_BURST_WINDOW_S = 10.0
# Search: "rate limited to five requests per second per account"
# (https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm).
DEFAULT_SEARCHES_PER_SECOND = 5
SEARCH_WINDOW_S = 1.0
# Keep a little headroom: our send times and HubSpot's arrival times differ by network jitter.
BURST_HEADROOM_SHARE = 0.03
# 20 ms per second of searches: absorbs the jitter between our send times and HubSpot's
# arrival times (a rarer miss is one 429, retried after its Retry-After); 50 ms cost a
# long incremental sync 5% of its search ceiling (bench scenario 3).
SEARCH_WINDOW_PADDING_S = 0.02
# When HubSpot says this few requests remain in its window, wait for the window to roll.
REMAINING_FLOOR = 1
# HubSpot sends the burst headers on every non-search answer. After this many successful
# answers without them, the API in front of us announces no burst limit (a local emulator,
# a proxy): stop throttling it and rely on 429 handling alone, unless a ceiling is configured.
HEADERLESS_ANSWERS_TO_UNTHROTTLE = 3
UNTHROTTLED = 1_000_000


@dataclass
class BudgetStats:
    """What the budget learned from HubSpot's headers."""

    learned_max: int | None = None


class _SlidingWindow:
    """At most `limit` starts in any `window_s` seconds."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = max(1, limit)
        self.window_s = window_s
        self.starts: deque[float] = deque()
        self.paused_until = 0.0

    def delay(self, now: float) -> float:
        """Seconds to wait before one more start is allowed at `now`."""
        starts = self.starts
        while starts and now - starts[0] >= self.window_s:
            starts.popleft()
        wait = max(0.0, self.paused_until - now)
        if len(starts) >= self.limit:
            wait = max(wait, starts[len(starts) - self.limit] + self.window_s - now)
        return wait


class RequestBudget:
    """Blocks before each request until HubSpot's limits allow it; learns them from headers."""

    def __init__(
        self,
        *,
        burst_max: int | None = None,
        searches_per_second: int = DEFAULT_SEARCHES_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._cap = burst_max  # a configured ceiling, never exceeded even if HubSpot allows more
        first = burst_max if burst_max is not None else DEFAULT_BURST_MAX
        self._burst = _SlidingWindow(self._with_headroom(first), DEFAULT_BURST_WINDOW_S)
        self._search = _SlidingWindow(
            searches_per_second, SEARCH_WINDOW_S + SEARCH_WINDOW_PADDING_S
        )
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.stats = BudgetStats()
        self._headerless = 0

    @staticmethod
    def _with_headroom(limit: int) -> int:
        return max(1, int(limit * (1 - BURST_HEADROOM_SHARE)))

    def acquire(self, *, search: bool = False) -> float:
        """Wait until one more request may start now; returns the seconds waited."""
        window = self._search if search else self._burst
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                delay = window.delay(now)
                if delay <= 0:
                    window.starts.append(now)
                    break
                self._sleep(delay)
                waited += delay
        return waited

    def observe(self, headers: Mapping[str, str], *, search: bool = False, ok: bool = True) -> None:
        """Learn the 10-second limit and its remaining room from a response's headers."""
        limit = _int(headers.get("X-HubSpot-RateLimit-Max"))
        interval_ms = _int(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"))
        remaining = _int(headers.get("X-HubSpot-RateLimit-Remaining"))
        with self._lock:
            burst = self._burst
            if limit is None and ok and not search and self.stats.learned_max is None:
                self._headerless += 1
                if self._cap is None and self._headerless >= HEADERLESS_ANSWERS_TO_UNTHROTTLE:
                    burst.limit = UNTHROTTLED
            if interval_ms:
                burst.window_s = interval_ms / 1000
            if limit:
                self.stats.learned_max = limit
                if self._cap is not None:
                    limit = min(limit, self._cap)
                burst.limit = self._with_headroom(limit)
            if remaining is not None and remaining <= REMAINING_FLOOR and burst.starts:
                # HubSpot's window is nearly spent (other apps share it, or our clock
                # drifted): wait until our oldest request in the window leaves it.
                burst.paused_until = max(burst.paused_until, burst.starts[0] + burst.window_s)

    def pause(self, seconds: float, *, search: bool = False) -> None:
        """HubSpot answered 429: no request of this kind before `seconds` from now."""
        window = self._search if search else self._burst
        with self._lock:
            window.paused_until = max(window.paused_until, self._clock() + seconds)

    @property
    def burst_limit(self) -> int:
        """The 10-second limit currently applied (after headroom)."""
        return self._burst.limit


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None
