"""How long to wait before asking HubSpot again when it gave no `Retry-After`: backoff with jitter.

One policy for the CRM client and the OAuth token refresh, so both wait the same way.
"""

from __future__ import annotations

import random

BACKOFF_BASE_S = 0.5


def backoff_s(attempt: int, max_s: float) -> float:
    """Bounded exponential backoff for the given 0-based attempt, with jitter (peers must not
    retry in step)."""
    ceiling = min(max_s, BACKOFF_BASE_S * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)
