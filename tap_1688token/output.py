"""Singer messages to stdout: msgspec lines, RECORDs written in blocks, whole lines only."""

from __future__ import annotations

import atexit
import contextlib
import datetime
import os
import select
import sys
import time
from collections import Counter
from typing import Any

import msgspec
from singer_sdk.singerlib import Message, RecordMessage
from singer_sdk.singerlib.encoding import GenericSingerWriter
from typing_extensions import override

from tap_1688token.errors import Interrupted, TargetGone

#: RECORD lines held before a write; a page of logs is about 100 KB
_BLOCK = 1 << 16
#: after a stop signal, how long the line being written may take to finish
_LINE_GRACE = 5.0


def _encode_other(value: Any) -> Any:
    # What the SDK's msgspec writer does with values JSON has no type for.
    return value.isoformat(sep="T") if isinstance(value, datetime.datetime) else str(value)


_ENCODER = msgspec.json.Encoder(enc_hook=_encode_other, decimal_format="number")


class BlockWriter(GenericSingerWriter[bytes, Message]):
    """Messages as msgspec JSON lines, without a write and flush per RECORD.

    msgspec encodes RECORD messages several times faster than the json module, and
    RECORDs written in blocks spare a system call per record. Every other message
    (STATE above all) first writes what is held, then itself, and flushes: a target sees
    a STATE only after every record it covers. What a stopped run held was never covered
    by a STATE, so the next run sends it again: it is dropped, never written in part.
    """

    def __init__(self) -> None:
        super().__init__()
        self._held = bytearray()
        self._held_records: Counter[str] = Counter()
        #: records that reached stdout, by stream
        self.written: Counter[str] = Counter()
        #: the value of the last STATE that reached stdout
        self.last_state: dict[str, Any] | None = None
        #: a stop signal that came while a message was being written (see `interrupt`)
        self._deferred: int | None = None
        self._busy = False
        self._stopped = False
        # Paths of the SDK that end without a sync_all (e.g. --test) still write it all.
        atexit.register(self._flush_at_exit)

    @override
    def serialize_message(self, message: Message) -> bytes:
        return _ENCODER.encode(message.to_dict()) + b"\n"

    @override
    def write_message(self, message: Message) -> None:
        if self._stopped:
            return
        self._busy = True
        try:
            # Encoded straight onto the end of the block: no line object per record.
            _ENCODER.encode_into(message.to_dict(), self._held, -1)
            self._held += b"\n"
            if type(message) is RecordMessage:
                self._held_records[message.stream] += 1
                if len(self._held) >= _BLOCK:
                    self._write_held()
            else:
                self._write_held()
                if message.type == "STATE":
                    self.last_state = message.to_dict()["value"]
        finally:
            self._busy = False
        if self._deferred is not None:
            raise Interrupted(self._deferred)

    def interrupt(self, signum: int) -> bool:
        """A stop signal came: True if it must wait for the message being written.

        Whatever is held and not yet written is dropped; a write under way finishes its
        current line (within a grace period) and stops there.
        """
        self._stopped = True
        if not self._busy:
            self._held.clear()
            return False
        self._deferred = signum
        with contextlib.suppress(OSError, ValueError):
            # A write blocked on a target that no longer reads returns instead of waiting.
            os.set_blocking(sys.stdout.fileno(), False)
        return True

    def flush(self) -> None:
        """Write out what is held (called at the end of a sync, whatever its outcome)."""
        if not self._stopped:
            self._write_held()

    def _write_held(self) -> None:
        if self._held:
            try:
                fd = sys.stdout.fileno()
            except (OSError, ValueError, AttributeError):
                fd = None  # not a file (tests capture stdout in memory)
            try:
                if fd is None:
                    sys.stdout.buffer.write(self._held)
                    sys.stdout.flush()
                else:
                    sys.stdout.flush()  # anything written around this writer goes first
                    self._write_whole_lines(fd)
            except BrokenPipeError:
                self._target_gone()
            self.written.update(self._held_records)
            self._held_records.clear()
            self._held.clear()
        elif not self._stopped:
            with contextlib.suppress(BrokenPipeError):
                sys.stdout.flush()

    def _write_whole_lines(self, fd: int) -> None:
        view = memoryview(self._held)
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                if self._deferred is None:  # a stdout non-blocking from the start
                    select.select([], [fd], [])
                    continue
            if self._deferred is not None and view:
                self._finish_line(fd, view)
                return

    def _finish_line(self, fd: int, rest: memoryview) -> None:
        """After a stop signal: write up to the end of the line under way, then stop."""
        done = len(self._held) - len(rest)
        if done == 0 or self._held[done - 1] == ord("\n"):
            return  # no line was begun
        end = self._held.index(b"\n", done) + 1
        rest = rest[: end - done]
        deadline = time.monotonic() + _LINE_GRACE
        while rest and time.monotonic() < deadline:
            select.select([], [fd], [], max(0.0, deadline - time.monotonic()))
            with contextlib.suppress(BlockingIOError):
                rest = rest[os.write(fd, rest) :]

    def _target_gone(self) -> None:
        self._stopped = True
        with contextlib.suppress(OSError, ValueError):
            # Python would report the closed pipe again when it flushes stdout at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        stream, count = "", 0
        if self._held_records:
            stream = next(reversed(self._held_records))
            count = self.written[stream]
        raise TargetGone(count, stream)

    def _flush_at_exit(self) -> None:
        with contextlib.suppress(OSError, ValueError, TargetGone):
            self.flush()
