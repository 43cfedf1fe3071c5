"""Keep a long-lived asyncio task alive through database and network errors, and let a real bug kill it loudly.

:func:`supervise` runs a loop body (the inbox processor, the outbox sender, the poller, the lease keeper).
An outage (:func:`is_outage`: the database or the network unreachable, or the lease lost) is logged in one
line and the body is started again after a capped exponential back-off, which starts over once the body
has run longer than the cap. Any other exception is a bug: it is logged with its traceback and handed to
``on_death``, which takes the lease and the process down so that systemd or another process takes over.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import socket
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram.error import BadRequest, NetworkError

from cases.leader import LeaseLost

log = logging.getLogger(__name__)

BACKOFF_BASE = 0.5
BACKOFF_CAP = 5.0
"""Seconds: the longest wait between two attempts, so work resumes within a few seconds of an outage's end."""


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database or the network is (for now) unreachable, or the lease was lost:
    worth retrying. A database error caused by the data (e.g. a constraint) is not an outage."""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout | LeaseLost):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
        return True
    return isinstance(exc, ConnectionError | TimeoutError | socket.gaierror | httpx.TransportError
                                | aiohttp.ClientError)


class Backoff:
    """Capped exponential back-off with jitter: ``base``, ``2·base``, … up to ``cap`` seconds."""

    def __init__(self, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> None:
        self.base, self.cap = base, cap
        self.failures = 0

    def failure(self) -> float:
        """One more failure in a row: the seconds to wait before the next attempt."""
        self.failures += 1
        return min(self.cap, self.base * 2 ** min(self.failures - 1, 20)) * random.uniform(0.8, 1.0)

    def success(self) -> None:
        """It worked: the next failure starts from ``base`` again."""
        self.failures = 0


def describe(exc: BaseException, redact: Callable[[str], str] = lambda text: text) -> str:
    """One line naming an exception, with secrets removed by ``redact``."""
    text = " ".join(str(exc).split())[:300]
    return redact(f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__)


async def supervise(
    name: str,
    body: Callable[[], Awaitable[None]],
    *,
    stopping: Callable[[], bool],
    on_death: Callable[[BaseException], None],
    backoff: Backoff | None = None,
    redact: Callable[[str], str] = lambda text: text,
) -> None:
    """Run ``body()`` until it returns; restart it after an outage; report any other exception to ``on_death``.

    Invariant: the task never ends silently: it returns only when ``body`` returned (it was stopped) or after
    ``on_death`` was told why it died."""
    backoff = backoff or Backoff()
    while True:
        started = time.monotonic()
        try:
            await body()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not is_outage(exc):
                log.critical("%s died: %s", name, describe(exc, redact), exc_info=exc)
                on_death(exc)
                return
            if stopping():
                return
            if time.monotonic() - started > backoff.cap:
                backoff.success()
            delay = backoff.failure()
            log.warning("%s: %s; retrying in %.1f s", name, describe(exc, redact), delay)
            steps = max(1, math.ceil(delay / 0.1))  # look at ``stopping`` every 0.1 s while waiting
            for _ in range(steps):
                if stopping():
                    return
                await asyncio.sleep(delay / steps)
