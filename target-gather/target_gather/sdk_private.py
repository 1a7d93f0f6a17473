"""The non-public singer-sdk names the target overrides or touches and why.

How they are declared and checked: `hubspot_gather_common.sdk_contract`. Each use site carries
a one-line `# private SDK: why` comment.
"""

from __future__ import annotations

from hubspot_gather_common.sdk_contract import PrivateUse

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
