"""Callback data for inline buttons: short, versioned, signed — and still never trusted.

Format: ``1:<action>:<arg>:<arg>...:<mac>`` where ``mac`` is a truncated HMAC over the rest. The MAC
only tells a forged button from a real one; every action is re-checked against the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

VERSION = "1"
MAX_BYTES = 64
_MAC_BYTES = 6
ID_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class Callback:
    """A decoded button press: the action and its arguments (strings, still untrusted)."""

    action: str
    args: tuple[str, ...]

    def int_arg(self, index: int) -> int | None:
        """Argument ``index`` as an int, or None when absent, not a number, or beyond a database id (32 bits)."""
        try:
            value = int(self.args[index])
        except (IndexError, ValueError):
            return None
        return value if -ID_LIMIT <= value <= ID_LIMIT else None

    def arg(self, index: int) -> str | None:
        """Argument ``index`` or None."""
        return self.args[index] if index < len(self.args) else None


class CallbackCodec:
    """Encodes and verifies callback data with a per-deployment secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def encode(self, action: str, *args: object) -> str:
        """Build callback data; raises ValueError when it would exceed Telegram's 64 bytes."""
        parts = [VERSION, action, *(str(a) for a in args)]
        if any(":" in p for p in parts):
            raise ValueError("callback parts cannot contain ':'")
        body = ":".join(parts)
        data = f"{body}:{self._mac(body)}"
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data too long ({len(data.encode())} bytes): {data!r}")
        return data

    def decode(self, data: str | None) -> Callback | None:
        """Verify and split callback data; None for anything forged, stale-versioned or malformed."""
        if not data or len(data.encode()) > MAX_BYTES:
            return None
        body, sep, mac = data.rpartition(":")
        if not sep or not hmac.compare_digest(mac, self._mac(body)):
            return None
        parts = body.split(":")
        if len(parts) < 2 or parts[0] != VERSION or not parts[1]:
            return None
        return Callback(action=parts[1], args=tuple(parts[2:]))
