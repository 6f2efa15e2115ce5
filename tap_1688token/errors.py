"""What can go wrong, at the bottom of the package: every other module may raise these.

Each message is one line, safe to show a user (never the token), and names what to fix.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """A failure the user must act on; the message is one line and names what to fix."""


class AuthError(GatewayError):
    """The server refused our credentials."""


class PermissionRefused(GatewayError):
    """The credentials are valid but this endpoint is not open to them (admin only)."""


class EndpointMissing(GatewayError):
    """HTTP 404: this server has no such endpoint."""


class SettingError(ValueError):
    """A setting that cannot work; the message names it."""


class StateError(GatewayError):
    """A state (bookmarks) the tap cannot resume from; the message names file and stream."""


class Interrupted(Exception):
    """A stop signal (SIGTERM, SIGINT) ended the run."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum
        #: the value of the last STATE written before it, where the next run resumes
        self.last_state: dict[str, Any] | None = None


class TargetGone(Exception):
    """stdout was closed: the target stopped reading."""

    def __init__(self, records: int, stream: str) -> None:
        super().__init__(f"the target closed the pipe after {records} records of {stream}")
        self.records = records
        self.stream = stream
