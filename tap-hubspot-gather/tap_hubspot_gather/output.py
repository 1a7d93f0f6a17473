"""The Singer message writer: msgspec encoding, flushed at each STATE instead of each line.

The SDK's writers flush stdout after every message: one system call per record, which costs
more than everything else the tap does per record. Records only count once a STATE follows
them (the target and Meltano checkpoint on STATE), and the tap writes a STATE after every
page, so flushing at each STATE delivers the same guarantees with one write per page.

The writer keeps its own buffer over file descriptor 1 rather than `sys.stdout.buffer`:
with `PYTHONUNBUFFERED=1` (common in CI and containers) that binary layer is unbuffered and
every record would again be a system call. The buffer also flushes whenever it fills, and at
exit.
"""

from __future__ import annotations

import atexit
import io
import sys
from typing import BinaryIO

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import SingerMessageType
from singer_sdk.singerlib.encoding.simple import Message

# Large enough to hold a page of records (200 records of a few hundred bytes each).
OUTPUT_BUFFER_BYTES = 1 << 17


def _open_stdout() -> BinaryIO:
    """A buffered binary stream on stdout's file descriptor (or stdout's own buffer when
    stdout is not a real file, e.g. captured in-process by a test harness)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, io.UnsupportedOperation, ValueError):
        return sys.stdout.buffer
    sys.stdout.flush()
    stream = open(fd, "wb", buffering=OUTPUT_BUFFER_BYTES, closefd=False)  # noqa: SIM115
    atexit.register(stream.flush)
    return stream


class PageBufferedWriter(MsgSpecWriter):
    """`MsgSpecWriter` that buffers stdout and flushes it on STATE messages only."""

    _out: BinaryIO | None = None

    def write_message(self, message: Message) -> None:
        """Write one message; flush when it is a STATE (it covers everything before it)."""
        if self._out is None:
            self._out = _open_stdout()
        self._out.write(self.format_message(message))
        if message.type == SingerMessageType.STATE:
            self._out.flush()
