"""The one place the tap leans on a private part of the Singer SDK, and why.

`Stream._generate_record_messages` is the SDK's per-record hook. Its own version walks
every property of every record, and every key inside `other` and `extra`, through the
selection mask: 6 us per record, a tenth of the tap's CPU on a large sync. Records are
flat and typed when built, so unless a catalog deselects something inside an object,
dropping the deselected top-level properties gives the same messages.

Private names used here, and nowhere else: `Stream._generate_record_messages` (the hook
overridden) and `Stream._stream_version` (the version a RECORD carries).
tests/test_sdk_adapter.py pins the SDK source of the hook and compares both paths, so
an SDK upgrade that changes either fails a test, not a sync.
"""

from __future__ import annotations

import datetime
from collections.abc import Generator
from typing import Any

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage
from typing_extensions import override


class FastRecordMessages(Stream):
    """A stream whose RECORD messages skip the SDK's nested selection walk when it can."""

    #: when the records being written were read (None: stamp each as it is written)
    read_at: datetime.datetime | None = None
    _deselected_for: object = None
    _deselected: tuple[str, ...] | None = None

    @override
    def _generate_record_messages(
        self, record: dict[str, Any]
    ) -> Generator[RecordMessage, None, None]:
        deselected = self._deselected_properties()
        if deselected is None:
            yield from super()._generate_record_messages(record)
            return
        for name in deselected:
            record.pop(name, None)
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=self.read_at or datetime.datetime.now(datetime.UTC),
                )

    def _deselected_properties(self) -> tuple[str, ...] | None:
        """Top-level properties the catalog deselects; None if the SDK must decide."""
        mask = self.mask
        if self._deselected_for is not mask:  # a new catalog, a new mask
            self._deselected_for = mask
            nested = any(len(crumb) > 2 and not selected for crumb, selected in mask.items())
            plain = not nested and self.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE
            names = [name for name in self.schema["properties"] if not mask["properties", name]]
            self._deselected = tuple(names) if plain else None
        return self._deselected
