"""How long to wait before asking HubSpot again: its `Retry-After`, else backoff with jitter.

One policy for the CRM client and the OAuth token refresh, so both wait the same way.
"""

from __future__ import annotations

import email.utils
import random
import time

BACKOFF_BASE_S = 0.5


def parse_retry_after(value: str) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_s(attempt: int, max_s: float) -> float:
    """Bounded exponential backoff for the given 0-based attempt, with jitter (peers must not
    retry in step)."""
    ceiling = min(max_s, BACKOFF_BASE_S * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)
