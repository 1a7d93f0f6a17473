"""Reading an HTTP `Retry-After` header, as both HubSpot and Gather send it.

https://www.rfc-editor.org/rfc/rfc9110#name-retry-after: delta-seconds or an HTTP-date.
"""

from __future__ import annotations

import email.utils
import time


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header, or None when it is absent or unreadable.

    `now` (epoch seconds) is the clock an HTTP-date is measured against; the current time
    by default.
    """
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
