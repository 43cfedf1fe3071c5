"""The bot's sends as Telegram's flood control sees them: per-chat and overall send times, the worst
burst over each limit, repeated identical sends, and (with ``strict_rate_limits``) the 429 a send over a
limit gets."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

from emulator.errors import JSON, ApiError
from emulator.formatting import markup_key
from emulator.world import World

#: Limits Telegram documents: 1/s per private chat, 20/min per group, 30/s overall.
PRIVATE_LIMIT = (1, 1.0)
GROUP_LIMIT = (20, 60.0)
GLOBAL_LIMIT = (30, 1.0)


@dataclass
class RateViolation:
    """More sends than Telegram allows inside one window."""

    scope: str
    chat_id: int | None
    count: int
    limit: int
    window: float
    at: float

    def to_dict(self) -> JSON:
        """A JSON-friendly view."""
        return asdict(self)


class SendLog(World):
    """When the bot sent what to whom; answers for rates and duplicates."""

    def _init_sends(self, strict_rate_limits: bool) -> None:
        self.strict_rate_limits = strict_rate_limits
        self._send_times: dict[int, list[float]] = {}
        self._all_send_times: list[float] = []
        self._sent_keys: dict[tuple[int, str, str, str], int] = {}

    def _check_rate(self, chat_id: int) -> None:
        """With ``strict_rate_limits``, the 429 a send to ``chat_id`` now would get."""
        if not self.strict_rate_limits:
            return
        now = time.monotonic()
        limit, window = PRIVATE_LIMIT if chat_id > 0 else GROUP_LIMIT
        recent = [t for t in self._send_times.get(chat_id, []) if now - t < window]
        overall = [t for t in self._all_send_times if now - t < GLOBAL_LIMIT[1]]
        wait = 0.0
        if len(recent) >= limit:
            wait = recent[-limit] + window - now
        if len(overall) >= GLOBAL_LIMIT[0]:
            wait = max(wait, overall[-GLOBAL_LIMIT[0]] + GLOBAL_LIMIT[1] - now)
        if wait > 0:
            secs = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {secs}", secs)

    def _record_send(self, chat_id: int, method: str, content: str, markup: JSON | None) -> float:
        """Note one successful send; returns its monotonic time."""
        now = time.monotonic()
        self._send_times.setdefault(chat_id, []).append(now)
        self._all_send_times.append(now)
        key = (chat_id, method, content, markup_key(markup))
        self._sent_keys[key] = self._sent_keys.get(key, 0) + 1
        return now

    @property
    def sent_count(self) -> int:
        """How many messages the bot has sent successfully (cheap, for wait_for predicates)."""
        return len(self._all_send_times)

    def send_times(self, chat_id: int | None = None) -> list[float]:
        """Monotonic times of successful sends to a chat (or of all sends)."""
        with self._lock:
            return list(self._all_send_times if chat_id is None else self._send_times.get(chat_id, []))

    def rate_violations(self, tolerance: float = 0.05) -> list[RateViolation]:
        """The worst over-limit burst per chat (1/s private, 20/min group) and overall (30/s).

        ``tolerance`` shortens each window to absorb network jitter between the bot and the emulator.
        """
        out: list[RateViolation] = []
        with self._lock:
            for chat_id, times in self._send_times.items():
                limit, window = PRIVATE_LIMIT if chat_id > 0 else GROUP_LIMIT
                worst = _worst_window(times, window - tolerance)
                if worst[0] > limit:
                    out.append(RateViolation("chat", chat_id, worst[0], limit, window, worst[1]))
            worst = _worst_window(self._all_send_times, GLOBAL_LIMIT[1] - tolerance)
            if worst[0] > GLOBAL_LIMIT[0]:
                out.append(
                    RateViolation("global", None, worst[0], GLOBAL_LIMIT[0], GLOBAL_LIMIT[1], worst[1])
                )
        return out

    def duplicate_sends(self) -> list[JSON]:
        """Sends repeated to the same chat with the same content and markup: [{chat_id, text, count}]."""
        with self._lock:
            return [
                {"chat_id": k[0], "method": k[1], "text": k[2], "reply_markup": k[3], "count": n}
                for k, n in self._sent_keys.items()
                if n > 1
            ]


def _worst_window(times: list[float], window: float) -> tuple[int, float]:
    """The largest number of timestamps inside any window of ``window`` seconds, and when."""
    best, at, i = 0, 0.0, 0
    for j, t in enumerate(times):
        while t - times[i] >= window:
            i += 1
        if j - i + 1 > best:
            best, at = j - i + 1, t
    return best, at
