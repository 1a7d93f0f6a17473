"""How a plugin declares the non-public singer-sdk names it relies on.

Non-public: an underscore name, or an override of a method singer-sdk marks `@final`. singer-sdk
may rename or re-sign any of them in a minor release. Each plugin lists its
uses in its own `sdk_private.py` as `PrivateUse` records (the parameters the code expects, and
why no public hook serves); the repository's contract test, `tests/packaging/test_sdk_contract.py`,
checks each against the installed singer-sdk with `inspect`, and fails on any private name a
plugin uses without declaring it, or declares without using.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PrivateUse:
    """One non-public singer-sdk name: where it lives, what the code expects, why."""

    owner: str  # dotted path of the singer-sdk class or module that defines it
    name: str
    parameters: tuple[str, ...] | None  # parameter names expected; None for an attribute
    why: str  # why no public hook serves
