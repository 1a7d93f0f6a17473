"""`typing.override` on every Python this package supports (3.12 has it; older ones take
typing_extensions'), so the version switch is written once."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

__all__ = ["override"]
