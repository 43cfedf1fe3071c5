"""Errors the services raise; every message is plain enough to show to the person who acted."""

from __future__ import annotations

from cases.states import TransitionError


class ServiceError(Exception):
    """Base class of the errors below."""


class PermissionDenied(ServiceError):
    """The person may not do this to this ticket (wrong role, out of scope, not their ticket)."""


class NotFound(ServiceError):
    """No such ticket (or person)."""


class InvalidInput(ServiceError):
    """A value the service cannot accept (an unknown area, a rating of 7, a missing reason...)."""


class InviteError(ServiceError):
    """An invite code that is unknown, expired or already used (``code``: ``unknown``, ``used``, ``expired``)."""

    def __init__(self, message: str, *, code: str = "unknown") -> None:
        super().__init__(message)
        self.code = code


__all__ = ["InvalidInput", "InviteError", "NotFound", "PermissionDenied", "ServiceError", "TransitionError"]
