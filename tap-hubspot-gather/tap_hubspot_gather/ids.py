"""The one rule for turning a HubSpot ID value into the key Gather matches on.

The target normalizes the same way, so a key never differs between tap and target: `str`,
surrounding whitespace stripped, integral numbers without a trailing `.0`, and emails
lower-cased. An empty result means "no usable ID".
"""

from __future__ import annotations

import math
import re
from typing import Any

_INTEGRAL_FLOAT = re.compile(r"^([+-]?\d+)\.0*$")


def normalize_id(value: Any, *, lower: bool = False) -> str | None:
    """The normalized ID string, or None when the value cannot identify a record."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        text = str(int(value)) if value.is_integer() else repr(value)
    else:
        text = str(value).strip()
    match = _INTEGRAL_FLOAT.match(text)
    if match:
        text = match.group(1)
    if not text:
        return None
    return text.lower() if lower else text
