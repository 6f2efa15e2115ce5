"""The tap: settings, streams, and one-line errors for what a user must fix."""

from __future__ import annotations

import sys
from typing import Any

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from tap_1688token.api import GatewayError
from tap_1688token.gateway import Gateway
from tap_1688token.output import BlockWriter
from tap_1688token.settings import CONFIG_SCHEMA, SettingError, Settings
from tap_1688token.streams import STREAM_TYPES

_SECRETS = tuple(name for name, prop in CONFIG_SCHEMA["properties"].items() if prop.get("secret"))


class Tap1688Token(Tap):
    """Call logs and usage of a 1688token.ai (or any New-API-style) account."""

    name = "tap-1688token"
    config_jsonschema = CONFIG_SCHEMA
    # msgspec encodes RECORD messages several times faster than the json module, and
    # RECORDs written in blocks spare a system call per record.
    message_writer_class = BlockWriter

    @override
    def discover_streams(self) -> list[Any]:
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]

    @property
    def settings(self) -> Settings:
        if not hasattr(self, "_settings"):
            self._settings = Settings.from_config(self.config)
        return self._settings

    @property
    def gateway(self) -> Gateway:
        """Created at the first request, so a run's upper bound is fixed as it starts."""
        if not hasattr(self, "_gateway"):
            self._gateway = Gateway(self.settings)
        return self._gateway

    @override
    def sync_all(self) -> None:
        # Resolve the unit (and so prove the credentials) before any stream writes.
        _ = self.gateway.unit
        try:
            super().sync_all()
        finally:
            self.message_writer.flush()  # type: ignore[attr-defined]
            self.gateway.close()

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        errors = [_redact(error) for error in super()._validate_config(raise_errors=False)]
        if not errors:
            try:
                _ = self.settings
            except SettingError as exc:
                errors.append(str(exc))
        if errors and raise_errors:
            raise ConfigValidationError(errors[0], errors=errors, schema=self.config_jsonschema)
        return errors

    @classmethod
    @override
    def invoke(cls, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        try:
            super().invoke(*args, **kwargs)
        except GatewayError as exc:
            # The user's fix is in the message; a traceback would only bury it.
            cls.logger.error("%s", exc)
            sys.exit(1)


def _redact(error: str) -> str:
    """A schema error about a secret may quote its value: name the setting only."""
    for name in _SECRETS:
        if f"['{name}']" in error:
            return f"{name}: must be a non-empty string"
    return error


if __name__ == "__main__":
    Tap1688Token.cli()
