"""The non-public singer-sdk names this package overrides or touches, declared as data.

singer-sdk may rename or re-sign any underscore name in a minor release. Each use is listed here
with the parameters the code expects, and `tests/packaging/test_sdk_contract.py` checks with
`inspect` that the installed singer-sdk still has it, and (by scanning this package's sources)
that no private singer-sdk name is used without being listed. Each use site carries a one-line
`# private SDK: why` comment.
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


_STREAM = "singer_sdk.streams.core.Stream"

PRIVATE_SDK_USES: tuple[PrivateUse, ...] = (
    PrivateUse(
        _STREAM,
        "_generate_record_messages",
        ("self", "record"),
        "speed: skips the SDK's per-record walk of the whole schema (bench scenario 1)",
    ),
    PrivateUse(
        _STREAM,
        "_increment_stream_state",
        ("self", "latest_record", "context"),
        "state is checkpointed per page; no public way to turn off the per-record bookmark",
    ),
    PrivateUse(
        _STREAM,
        "_write_starting_replication_value",
        ("self", "context"),
        "the window start lives in our own state; no public way to keep the SDK's out",
    ),
)
