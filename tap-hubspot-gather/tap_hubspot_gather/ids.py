"""The one rule for turning a HubSpot ID value into the key Gather matches on.

The target normalizes the same way, so a key never differs between tap and target: `str`,
surrounding whitespace stripped, integral numbers (and numeric strings with an all-zero
fraction, such as "+7.00") without the fraction or a plus sign, and emails lower-cased. An
empty result means "no usable ID". `tests/reliability` checks the two agree for any value.
"""

from __future__ import annotations

import math
import re
from typing import Any

# Same pattern as target_gather.mapping: "123.0" and "+7.00" are integers, "0." and "7" stay.
_INTEGRAL_STRING = re.compile(r"^[+-]?\d+\.0+$")


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
    if _INTEGRAL_STRING.match(text):
        text = text.split(".", 1)[0].lstrip("+")
    if not text:
        return None
    return text.lower() if lower else text
