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


DURATION_UNITS: dict[str, tuple[str, str, str, str, str]] = {
    "zh": ("天", "小时", "分钟", "秒", ""),
    "en": ("d", "h", "m", "s", " "),
}
"""The catalogue of duration words: day, hour, minute, second and the separator, per language."""


def format_duration(delta: timedelta, lang: str = "en", *, smallest: str = "s") -> str:
    """Render a timedelta by its two largest adjacent units: ``1d 4h`` / ``1天4小时``, ``2h 5m`` / ``2小时5分钟``,
    ``45m``, ``30s``. Units below ``smallest`` ('s' or 'm') are dropped; Chinese uses no spaces."""
    day, hour, minute, second, sep = DURATION_UNITS["zh" if lang == "zh" else "en"]
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if smallest == "m":
        seconds -= seconds % 60
    amounts = [(seconds // 86400, day), (seconds % 86400 // 3600, hour), (seconds % 3600 // 60, minute),
               (seconds % 60, second)]
    if smallest == "m":
        amounts = amounts[:3]
    first = next((i for i, (amount, _) in enumerate(amounts) if amount), None)
    if first is None:
        return f"0{amounts[-1][1]}"
    shown = [f"{amount}{unit}" for amount, unit in amounts[first:first + 2] if amount]
    return sign + sep.join(shown)
