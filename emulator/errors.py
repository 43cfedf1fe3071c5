"""How the emulator refuses a call: Telegram's error answer (status, description, optional retry_after)."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> JSON:
        """Return the body Telegram sends for this error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(what: str) -> ApiError:
    """A 400 error with Telegram's 'Bad Request: ' prefix."""
    return ApiError(400, f"Bad Request: {what}")


def as_int(value: Any, name: str) -> int:
    """``value`` as an integer parameter, or the 400 Telegram answers for an invalid ``name``."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None
