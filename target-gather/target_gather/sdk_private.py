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


# None today. What the target once overrode, and the public route it takes instead:
# - Target._process_record_message, _process_state_message, _process_activate_version_message
#   -> its own handlers, routed by the reader's public `process_lines(file_input, callbacks)`
#   (`TolerantReader.handlers`); the settling itself is the sink's public `activate_version`.
# - Target._write_state_message -> the target keeps the latest STATE itself and emits it after
#   `drain_all()` returned (the SDK's `drain_all` then has no STATE of its own to write).
# - Target._handle_termination -> `signal.signal` for SIGINT/SIGTERM in `TargetGather.__init__`.
# - GenericSingerReader._process_unknown_message -> malformed lines get their own callback in
#   the reader's `process_lines`.
PRIVATE_SDK_USES: tuple[PrivateUse, ...] = ()
