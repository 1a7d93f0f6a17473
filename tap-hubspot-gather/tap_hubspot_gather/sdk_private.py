"""The non-public singer-sdk names the tap overrides or touches and why.

How they are declared and checked: `hubspot_gather_common.sdk_contract`. Each use site carries
a one-line `# private SDK: why` comment.
"""

from __future__ import annotations

from hubspot_gather_common.sdk_contract import PrivateUse

_STREAM = "singer_sdk.streams.core.Stream"

PRIVATE_SDK_USES: tuple[PrivateUse, ...] = (
    PrivateUse(
        "singer_sdk.tap_base.Tap",
        "sync_all",
        ("self",),
        "final in singer-sdk; the one point before a sync's first message, where missing "
        "credentials stop it (discovery must not need them)",
    ),
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
