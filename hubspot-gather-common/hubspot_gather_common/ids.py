"""The one rule for turning an ID value into the key Gather matches on.

The tap keys and links records by it and its check command predicts duplicates with it; the
target, which takes records from any tap, applies it to everything it sends. Both import it from
here, so they cannot drift apart.

The rule: `str`, surrounding whitespace stripped, integral numbers (and numeric strings with an
all-zero fraction, as HubSpot returns number properties, such as "+7.00") without the fraction
or a plus sign, and, with `lower=True` (email IDs), lower-cased. None means "no usable ID".
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

# "123.0" and "+7.00" are integers; "0." and "7" stay as they are.
_INTEGRAL_STRING = re.compile(r"^[+-]?\d+\.0+$")


def normalize_id(value: Any, *, lower: bool = False) -> str | None:
    """The normalized ID string, or None when the value cannot identify a record."""
    # Strings first: the common case (several calls per record in the target); the regex only
    # runs for a string with a "." in it.
    if isinstance(value, str):
        text = value.strip()
        if "." in text and _INTEGRAL_STRING.match(text):
            text = text.split(".", 1)[0].lstrip("+")
    elif value is None or isinstance(value, bool):
        return None
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float | Decimal):
        if not math.isfinite(value):
            return None
        text = str(int(value)) if value == int(value) else str(value)
    else:
        return None
    if not text:
        return None
    return text.lower() if lower else text
