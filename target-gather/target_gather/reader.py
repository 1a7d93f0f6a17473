"""The Singer reader: msgspec speed, the target's own message handlers, and a malformed line
becomes a reject instead of a crash.

A line that is not JSON (or not a JSON object with a `type`) is handed to `on_malformed` and
skipped, so every valid record around it still reaches Gather; the target reports it and fails
the run at the end. The target's handlers (`handlers`, by message type) take the place of the
SDK's through the reader's public `process_lines(file_input, callbacks)`, so the target
overrides no private singer-sdk method.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import IO, Any

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader, decoder

from target_gather.compat import override

MALFORMED = "_MALFORMED_LINE"

Handler = Callable[[dict[str, Any]], None]


def _no_handler(line_number: int, reason: str) -> None:
    msg = f"line {line_number}: {reason}"
    raise ValueError(msg)


class TolerantReader(MsgSpecReader):
    """`MsgSpecReader` that reports malformed lines through `on_malformed` and routes the
    message types in `handlers` to them instead of to the SDK's callbacks."""

    def __init__(self) -> None:
        super().__init__()
        self.on_malformed: Callable[[int, str], None] = _no_handler
        self.handlers: dict[str, Handler] = {}
        self.line_number = 0

    @override
    def process_lines(
        self, file_input: IO[str] | None, callbacks: dict[str, Handler]
    ) -> Counter[str]:
        """The SDK's read loop, with `handlers` first and malformed lines to `on_malformed`."""
        routed = {**callbacks, **self.handlers, MALFORMED: self._report_malformed}
        return super().process_lines(file_input, routed)

    def deserialize_json(self, line: str) -> dict[str, Any]:
        """The message, or a `MALFORMED` marker routed to `on_malformed`."""
        self.line_number += 1
        try:
            message = decoder.decode(line)
        except msgspec.DecodeError as exc:
            return self._malformed(f"not valid JSON ({exc})")
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return self._malformed("not a Singer message (a JSON object with a 'type')")
        return message

    def _malformed(self, reason: str) -> dict[str, Any]:
        return {"type": MALFORMED, "line": self.line_number, "reason": reason}

    def _report_malformed(self, message: dict[str, Any]) -> None:
        self.on_malformed(int(message["line"]), str(message["reason"]))
