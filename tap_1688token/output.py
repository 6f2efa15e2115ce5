"""Singer messages to stdout: msgspec lines, RECORDs written in blocks."""

from __future__ import annotations

import atexit
import contextlib
import datetime
import sys
from typing import Any

import msgspec
from singer_sdk.singerlib import Message, RecordMessage
from singer_sdk.singerlib.encoding import GenericSingerWriter
from typing_extensions import override

#: RECORD lines held before a write; a page of logs is about 100 KB
_BLOCK = 1 << 16


def _encode_other(value: Any) -> Any:
    # What the SDK's msgspec writer does with values JSON has no type for.
    return value.isoformat(sep="T") if isinstance(value, datetime.datetime) else str(value)


_ENCODER = msgspec.json.Encoder(enc_hook=_encode_other, decimal_format="number")


class BlockWriter(GenericSingerWriter[bytes, Message]):
    """Messages as msgspec JSON lines, without a write and flush per RECORD.

    msgspec encodes RECORD messages several times faster than the json module, and
    RECORDs written in blocks spare a system call per record. Every other message
    (STATE above all) first writes what is held, then itself, and flushes: a target sees
    a STATE only after every record it covers. What a killed run held was never covered
    by a STATE, so the next run sends it again.
    """

    def __init__(self) -> None:
        super().__init__()
        self._held = bytearray()
        # Paths of the SDK that end without a sync_all (e.g. --test) still write it all.
        atexit.register(self._flush_at_exit)

    @override
    def serialize_message(self, message: Message) -> bytes:
        return _ENCODER.encode(message.to_dict()) + b"\n"

    @override
    def write_message(self, message: Message) -> None:
        # Encoded straight onto the end of the block: no line object per record.
        _ENCODER.encode_into(message.to_dict(), self._held, -1)
        self._held += b"\n"
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
