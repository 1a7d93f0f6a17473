"""The non-public singer-sdk names the target overrides or touches and why.

How they are declared and checked: `hubspot_gather_common.sdk_contract`. Each use site carries
a one-line `# private SDK: why` comment.
"""

from __future__ import annotations

from hubspot_gather_common.sdk_contract import PrivateUse

_TARGET = "singer_sdk.target_base.Target"
_READER = "singer_sdk.singerlib.encoding.base.GenericSingerReader"

PRIVATE_SDK_USES: tuple[PrivateUse, ...] = (
    PrivateUse(
        _TARGET,
        "_process_record_message",
        ("self", "message_dict"),
        "the lean RECORD path and the checkpoint cadence; no public per-message hook",
    ),
    PrivateUse(
        _TARGET,
        "_process_state_message",
        ("self", "message_dict"),
        "the time-based checkpoint must also tick on STATE; no public hook",
    ),
    PrivateUse(
        _TARGET,
        "_process_activate_version_message",
        ("self", "message_dict"),
        "deliver the pass before settling what it lacked; the SDK only calls the sink",
    ),
    PrivateUse(
        _TARGET,
        "_handle_termination",
        ("self", "signum", "frame"),
        "SIGTERM mid-delivery must not re-enter a drain nor emit STATE for unsent records",
    ),
    PrivateUse(
        _TARGET,
        "_write_state_message",
        ("self", "state"),
        "STATE only after the durable ledger is written, never in dry run, never twice",
    ),
    PrivateUse(
        _READER,
        "_process_unknown_message",
        ("self", "message_dict"),
        "a malformed input line becomes a reject, not a crash; the reader has no hook",
    ),
)
