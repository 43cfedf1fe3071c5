"""Change notification: how the HTTP side, long polls and waiting tests learn that the emulator changed."""

from __future__ import annotations

import asyncio
import contextlib
import threading


class Signal:
    """A change counter that sync threads and coroutines in any event loop can wait on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._version = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    @property
    def version(self) -> int:
        """The number of changes so far."""
        return self._version

    def notify(self) -> None:
        """Record a change and wake every waiter."""
        with self._cond:
            self._version += 1
            waiters, self._waiters = self._waiters, []
            self._cond.notify_all()
        for loop, fut in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed
                loop.call_soon_threadsafe(_resolve, fut)

    async def wait(self, since: int, timeout: float) -> None:  # noqa: ASYNC109
        """Return when the version differs from ``since`` or after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._version != since:
                return
            self._waiters.append((loop, fut))
        try:
            await asyncio.wait_for(fut, max(timeout, 0))
        except TimeoutError:
            pass
        finally:
            with self._cond:
                if (loop, fut) in self._waiters:
                    self._waiters.remove((loop, fut))

    def wait_sync(self, since: int, timeout: float) -> None:
        """Blocking variant of :meth:`wait`."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != since, max(timeout, 0))


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
