"""Injected trouble: errors for the next matching calls (optionally after the call took effect, like a
lost response) and a delay before answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from emulator.errors import ApiError
from emulator.world import World


@dataclass
class Fault:
    """An injected failure for the next ``remaining`` matching calls."""

    remaining: int
    status: int
    retry_after: int | None
    methods: frozenset[str] | None
    description: str
    apply: bool = False

    def matches(self, method: str) -> bool:
        """Whether this fault applies to ``method`` (getUpdates only when named)."""
        if self.methods is None:
            return method != "getupdates"
        return method in self.methods

    def error(self) -> ApiError:
        """The error this fault answers with."""
        return ApiError(self.status, self.description, self.retry_after)


def _method_set(methods: Iterable[str] | None) -> frozenset[str] | None:
    return frozenset(m.lower() for m in methods) if methods is not None else None


class FaultInjection(World):
    """Pending faults, consumed one matching call at a time, and the answer delay."""

    def _init_faults(self) -> None:
        self._faults: list[Fault] = []
        self.delay = 0.0
        self.delay_methods: frozenset[str] | None = None

    def fail_next(
        self,
        n: int = 1,
        status: int = 429,
        retry_after: int | None = 1,
        methods: Iterable[str] | None = None,
        *,
        description: str | None = None,
        apply: bool = False,
    ) -> None:
        """Answer the next ``n`` matching calls with an error.

        ``methods=None`` matches every method except getUpdates. ``retry_after`` only applies to 429.
        With ``apply`` the call takes effect (the message is delivered) before the error is returned,
        like a response lost on the way back.
        """
        desc = description or {
            429: f"Too Many Requests: retry after {retry_after}",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }.get(status, f"Error {status}")
        with self._lock:
            self._faults.append(
                Fault(n, status, retry_after if status == 429 else None, _method_set(methods), desc, apply)
            )

    def clear_faults(self) -> None:
        """Drop every pending injected fault and the request delay."""
        with self._lock:
            self._faults.clear()
            self.delay = 0.0

    def set_delay(self, seconds: float, methods: Iterable[str] | None = None) -> None:
        """Delay answers of ``methods`` (all but getUpdates when None) by ``seconds``."""
        with self._lock:
            self.delay = seconds
            self.delay_methods = _method_set(methods)

    def delay_for(self, method: str) -> float:
        """The configured delay for ``method``."""
        with self._lock:
            if self.delay_methods is None:
                return 0.0 if method.lower() == "getupdates" else self.delay
            return self.delay if method.lower() in self.delay_methods else 0.0

    def take_fault(self, method: str) -> Fault | None:
        """Consume one matching fault, if any."""
        with self._lock:
            for f in self._faults:
                if f.remaining > 0 and f.matches(method.lower()):
                    f.remaining -= 1
                    if f.remaining == 0:
                        self._faults.remove(f)
                    return f
            return None
