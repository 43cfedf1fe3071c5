"""Parse the durations admins write in the rules file: ``30s``, ``15m``, ``2h``, ``3d``,
and working-time limits such as ``8 working hours`` or ``2 working days``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PLAIN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_WORKING = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*working\s+(hour|hours|day|days)\s*$", re.IGNORECASE)


class DurationError(ValueError):
    """A duration string that is not one of the accepted forms."""


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``/``15m``/``2h``/``3d`` into a timedelta; raise DurationError otherwise."""
    match = _PLAIN.match(str(text))
    if not match:
        raise DurationError(
            f"{text!r} is not a duration; write a number and a unit: 30s, 15m, 2h or 3d"
        )
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Limit:
    """A time limit: either wall-clock time or working time (counted only inside working hours).

    ``working_days`` limits count whole working days; ``amount`` then holds days * 24h for display only.
    """

    amount: timedelta
    working: bool = False
    working_days: int = 0

    def __str__(self) -> str:
        if self.working_days:
            return f"{self.working_days} working days"
        hours = self.amount.total_seconds() / 3600
        if self.working:
            return f"{hours:g} working hours"
        return format_duration(self.amount)


def parse_limit(text: str) -> Limit:
    """Parse a plain duration or a working-time limit (``8 working hours``, ``2 working days``)."""
    match = _WORKING.match(str(text))
    if match:
        value = float(match.group(1))
        if match.group(2).lower().startswith("day"):
            if value != int(value):
                raise DurationError(f"{text!r}: working days must be a whole number")
            return Limit(timedelta(days=value), working=True, working_days=int(value))
        return Limit(timedelta(hours=value), working=True)
    try:
        return Limit(parse_duration(text))
    except DurationError:
        raise DurationError(
            f"{text!r} is not a time limit; write 30m, 2h, 3d, '8 working hours' or '2 working days'"
        ) from None


def format_duration(delta: timedelta) -> str:
    """Render a timedelta compactly: ``2h``, ``1d 4h``, ``45m``, ``30s``."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days}d")
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs and not days:
        parts.append(f"{secs}s")
    return sign + (" ".join(parts) or "0s")
