"""What can go wrong, at the bottom of the package: every other module may raise these.

Each message is one line, safe to show a user (never the token), and names what to fix.
"""

from __future__ import annotations


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
