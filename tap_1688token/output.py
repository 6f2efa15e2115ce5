"""Singer messages to stdout: msgspec lines, RECORDs written in blocks."""

from __future__ import annotations

import atexit
import contextlib
import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, RecordMessage
from typing_extensions import override

#: RECORD lines held before a write; a page of logs is about 100 KB
_BLOCK = 1 << 16


class BlockWriter(MsgSpecWriter):
    """The SDK's msgspec writer, without a write and flush per RECORD.

    Every other message (STATE above all) first writes what is held, then itself, and
    flushes: a target sees a STATE only after every record it covers, as before. What
    a killed run held was never covered by a STATE, so the next run sends it again.
    """

    def __init__(self) -> None:
        super().__init__()
        self._held = bytearray()
        # Paths of the SDK that end without a sync_all (e.g. --test) still write it all.
        atexit.register(self._flush_at_exit)

    @override
    def write_message(self, message: Message) -> None:
        # format_message returns a buffer it reuses, so it is copied in at once
        self._held += self.format_message(message)
        if len(self._held) >= _BLOCK or type(message) is not RecordMessage:
            self.flush()

    def flush(self) -> None:
        """Write out what is held (called at the end of a sync, whatever its outcome)."""
        if self._held:
            sys.stdout.buffer.write(self._held)
            self._held.clear()
        sys.stdout.flush()

    def _flush_at_exit(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # stdout closed, or a closed pipe
            self.flush()
