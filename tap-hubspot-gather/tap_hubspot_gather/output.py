"""The Singer message writer: msgspec encoding, flushed at each STATE instead of each line.

The SDK's writers flush stdout after every message: one system call per record, which costs
more than everything else the tap does per record. Records only count once a STATE follows
them (the target and Meltano checkpoint on STATE), and the tap writes a STATE after every
page, so flushing at each STATE delivers the same guarantees with one write per page. The
buffer also flushes by itself whenever it fills, and at exit.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import SingerMessageType
from singer_sdk.singerlib.encoding.simple import Message


class PageBufferedWriter(MsgSpecWriter):
    """`MsgSpecWriter` that flushes stdout on STATE messages only."""

    def write_message(self, message: Message) -> None:
        """Write one message; flush when it is a STATE (it covers everything before it)."""
        sys.stdout.buffer.write(self.format_message(message))
        if message.type == SingerMessageType.STATE:
            sys.stdout.flush()
