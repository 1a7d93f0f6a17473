"""The Singer reader: msgspec speed, and a malformed line becomes a reject instead of a crash.

A line that is not JSON (or not a JSON object with a `type`) is handed to `on_malformed` and
skipped, so every valid record around it still reaches Gather; the target reports it and fails
the run at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader, decoder

MALFORMED = "_MALFORMED_LINE"


def _no_handler(line_number: int, reason: str) -> None:
    msg = f"line {line_number}: {reason}"
    raise ValueError(msg)


class TolerantReader(MsgSpecReader):
    """`MsgSpecReader` that reports malformed lines through `on_malformed`."""

    def __init__(self) -> None:
        super().__init__()
        self.on_malformed: Callable[[int, str], None] = _no_handler
        self.line_number = 0

    def deserialize_json(self, line: str) -> dict[str, Any]:
        """The message, or a `MALFORMED` marker the target turns into a reject."""
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

    # private SDK: the reader has no public hook for a message it cannot route
    def _process_unknown_message(self, message_dict: dict[str, Any]) -> None:
        if message_dict.get("type") == MALFORMED:
            self.on_malformed(int(message_dict["line"]), str(message_dict["reason"]))
            return
        super()._process_unknown_message(message_dict)
