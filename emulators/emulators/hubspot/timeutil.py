"""Epoch-millisecond timestamps to and from HubSpot's ISO 8601 strings."""

from __future__ import annotations

import time
from datetime import datetime, timezone

_MS_PER_DAY = 86_400_000


def now_ms() -> int:
    """The wall clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def iso_ms(ms: int) -> str:
    """HubSpot's datetime form: ``2024-01-17T19:55:04.281Z`` (UTC, milliseconds)."""
    stamp = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def iso_date(ms: int) -> str:
    """HubSpot's date form: ``2020-02-29``."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d")


def midnight_ms(ms: int) -> int:
    """The UTC midnight starting the day of `ms` (HubSpot `date` values are midnight UTC)."""
    return ms - ms % _MS_PER_DAY


def parse_ms(value: str) -> int | None:
    """Epoch ms from an epoch-ms string or an ISO date/datetime; None when unparseable."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000)
