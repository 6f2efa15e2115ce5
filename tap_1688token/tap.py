"""The tap: settings, streams, and one-line errors for what a user must fix."""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import json
import logging
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import jsonschema
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from tap_1688token import stopping
from tap_1688token.client import GatewayStream
from tap_1688token.errors import GatewayError, Interrupted, SettingError, TargetGone
from tap_1688token.gateway import Gateway
from tap_1688token.output import BlockWriter
from tap_1688token.settings import CONFIG_SCHEMA, SECRETS, Settings
from tap_1688token.state import check_state, parse_state
from tap_1688token.streams import STREAM_TYPES

#: how long a thread may hold the interpreter before another waiting for it gets its turn.
#: Python's 5 ms default makes each request wait up to 5 ms at every socket call it makes
#: while the main thread builds records: at 30 ms a request and 8 in flight, answers then
#: take ~50 ms, and the run is a tenth slower (benchmarks/run.py, 60,000 logs).
SWITCH_INTERVAL = 0.001
#: new container objects (net of those freed) between two collections of the youngest
#: generation. At Python's 700 a 60,000-log run collected some 350 times, each walking the
#: window's records still alive: 0.24 s of its 2.7 CPU s (gc.callbacks). Records hold no
#: cycles, so they are freed as they are written whatever the threshold; at 10,000 the run
#: collects about 12 times (6 of 6 runs in turns: 2.92 -> 2.66 CPU s, median).
YOUNG_GC_THRESHOLD = 10_000

# Each class sets `name` (a stream's log type names it), though the SDK types it per instance.
STREAM_NAMES = tuple(stream_type.name for stream_type in STREAM_TYPES)  # type: ignore[misc]


@contextlib.contextmanager
def _interpreter_for_a_run() -> Iterator[None]:
    """The switch interval and the youngest generation's threshold a run wants; a process
    embedding the tap gets its own back after."""
    switch_interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.set_threshold(YOUNG_GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(switch_interval)


class Tap1688Token(Tap):
    """Call logs and usage of a 1688token.ai (or any New-API-style) account."""

    name = "tap-1688token"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = BlockWriter

    def __init__(self, *, validate_config: bool = True, **kwargs: Any) -> None:
        # The SDK's own check quotes the values it refuses, a secret's too; this tap
        # checks instead, and raises as the SDK documents: its CLI prints each error.
        super().__init__(validate_config=False, **kwargs)
        self._settings: Settings | None = None
        self._gateway: Gateway | None = None
        self.stop = stopping.Stop()
        # In place of the SDK's handler, which exits 0: see stopping.py.
        stopping.install(self.stop, self._writer_defers)
        check_state(self.state, "state", STREAM_NAMES)
        if validate_config:
            errors = self.config_errors()
            if errors:
                raise ConfigValidationError(errors[0], errors=errors, schema=self.config_jsonschema)

    def config_errors(self) -> list[str]:
        """One line per problem with the config, each naming its setting."""
        errors = [
            _describe(error)
            for error in jsonschema.Draft7Validator(self.config_jsonschema).iter_errors(
                dict(self.config)
            )
        ]
        if not errors:
            try:
                _ = self.settings
            except SettingError as exc:
                errors.append(str(exc))
        return errors

    @override
    def discover_streams(self) -> list[Stream]:
        return [stream_type(self, gateway=lambda: self.gateway) for stream_type in STREAM_TYPES]

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_config(self.config)
        return self._settings

    @property
    def gateway(self) -> Gateway:
        """Created at the first request, so a run's upper bound is fixed as it starts."""
        if self._gateway is None:
            self._gateway = Gateway(self.settings, stop=self.stop)
        return self._gateway

    def _writer_defers(self, signum: int) -> bool:
        writer = self.message_writer
        return isinstance(writer, BlockWriter) and writer.interrupt(signum)

    # No public hook runs once around a whole run: here the credentials and the unit
    # are proved before any message is written, and the session closed after the last.
    @override  # type: ignore[misc]  # final in the SDK, and no other hook will do: see above
    def sync_all(self) -> None:
        with _interpreter_for_a_run():
            try:
                self._open()
                try:
                    super().sync_all()
                except Interrupted as exc:
                    if isinstance(self.message_writer, BlockWriter):
                        exc.last_state = self.message_writer.last_state
                    raise
                else:
                    self._summarize()
                finally:
                    if isinstance(self.message_writer, BlockWriter):
                        self.message_writer.flush()
            finally:
                # Also when the first answers fail the run: requests on their way on other
                # threads stop at their next try.
                self.gateway.close()

    def _open(self) -> None:
        # Resolve the unit (and so prove the credentials) before any stream writes.
        _ = self.gateway.unit
        # Written in STREAM_TYPES' order (see streams.py), not the SDK's alphabetical one
        # (load_streams is final): the SDK syncs the streams dict in its order.
        streams = self.streams
        ordered = {name: streams[name] for name in STREAM_NAMES if name in streams}
        streams.clear()
        streams.update(ordered)
        # Then every selected stream's first requests leave together, in the streams' order.
        openings = {
            name: stream.opening()
            for name, stream in self.streams.items()
            if stream.selected and isinstance(stream, GatewayStream)
        }
        self.gateway.open({name: run for name, run in openings.items() if run is not None})

    def _summarize(self) -> None:
        """One line at the end of every run: what it delivered and what it checked."""
        gateway = self.gateway
        gateway.finish()
        strays: Counter[int] = Counter()
        for found in gateway.stray_types.values():  # every stream saw them: take the most
            strays |= found
        if strays:
            self.logger.warning(
                "%d logs are of a type no stream exports (%s).",
                sum(strays.values()),
                ", ".join(f"type {kind}: {count}" for kind, count in sorted(strays.items())),
            )
        written = (
            self.message_writer.written if isinstance(self.message_writer, BlockWriter) else {}
        )
        counts = ", ".join(
            f"{name} {written.get(name, 0):,}"
            for name in sorted(self.streams)
            if self.streams[name].selected
        )
        checked = (
            f"{gateway.days_verified} days verified against the server's totals, "
            f"{gateway.days_differing} differing"
            if self.settings.verify != "off"
            else "verify is off"
        )
        self.logger.info("Run summary: records %s; %s.", counts, checked)

    @classmethod
    @override
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        try:
            state = kwargs.get("state")
            if state is not None:
                # Checked here, where the file's name is known; Meltano's form unwrapped.
                source = f"state file {getattr(state, 'name', '')}".rstrip()
                checked = parse_state(state.read(), source, STREAM_NAMES)
                kwargs["state"] = io.StringIO(json.dumps(checked))
            super().invoke(*args, **kwargs)
        except GatewayError as exc:
            # The user's fix is in the message; a traceback would only bury it.
            cls.logger.error("%s", exc)
            sys.exit(1)
        except TargetGone as exc:
            cls.logger.error("Stopped: %s.", exc)
            sys.exit(1)
        except Interrupted as exc:
            cls.logger.error("%s", _interrupted(exc))
            # Threads may be in the middle of a request: do not wait for them.
            logging.shutdown()
            os._exit(128 + exc.signum)


def _interrupted(exc: Interrupted) -> str:
    name = signal.Signals(exc.signum).name if exc.signum else "a stop signal"
    bookmarks = (exc.last_state or {}).get("bookmarks", {})
    marks = ", ".join(
        f"{stream} from {entry['replication_key_value']}"
        for stream, entry in bookmarks.items()
        if isinstance(entry, dict) and entry.get("replication_key_value")
    )
    where = f"the last STATE written: {marks}" if marks else "its start (no STATE was written)"
    return f"Interrupted by {name}: the run did not finish; the next run resumes from {where}."


def _describe(error: jsonschema.ValidationError) -> str:
    """A schema error as one line naming its setting; a secret's value is never quoted."""
    if error.validator == "required" and not error.path:
        required: Any = error.validator_value
        given: Any = error.instance
        missing = [name for name in required if name not in given]
        name = str(missing[0]) if missing else "config"
        return f"{name}: required (TAP_1688TOKEN_{name.upper()})"
    name = ".".join(str(part) for part in error.path) or "config"
    if error.path and error.path[0] in SECRETS:
        return f"{name}: must be a non-empty string"
    return f"{name}: {error.message}"


def main() -> None:
    """The `tap-1688token` command: the SDK's CLI, then, when it succeeded, an exit that
    skips the interpreter's teardown.

    Freeing every module and object of a finished run took about 0.1 s after the last
    message (a tenth of an idle scheduled run); nothing is left to do by then. Whatever
    runs at exit still runs (the writer's last block, logging's flush), then the process
    ends with status 0. A failure exits as it always has, teardown included.
    """
    try:
        Tap1688Token.cli()
    except SystemExit as done:
        if done.code not in (0, None):
            raise
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
