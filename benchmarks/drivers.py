"""One way for the benchmarks to drive a Bot API emulator, whether it runs in a thread or its own process.

In a thread (:class:`ThreadDriver`) the emulator shares the benchmarked bot's interpreter and GIL, so every
API call a bot makes costs it twice: once as a client, once as the "Telegram server". In its own process
(:class:`ProcessDriver`, ``python -m emulator``) the server side runs on its own core, as Telegram does.
Times are ``time.monotonic()`` values, which on Linux are one clock for every process of the host.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, TypeVar

from emulator.control import RemoteEmulator
from emulator.process import EmulatorProcess
from emulator.server import EmulatorThread

T = TypeVar("T")


@dataclass(frozen=True)
class Arrival:
    """One message the bot sent, as the emulator recorded it."""

    chat_id: int
    text: str
    mono: float


class Driver(Protocol):
    """What a benchmark needs from an emulator."""

    token: str
    base_url: str
    file_base_url: str

    def add_user(self, user_id: int, name: str, *, language_code: str, started: bool = False) -> None:
        """Create a user (``started``: the bot may write first)."""

    async def inject(self, messages: list[tuple[int, str]], rate: float | None = None) -> list[tuple[int, int, float]]:
        """Users send texts, all at once or paced at ``rate`` per second by the emulator itself; returns
        ``(chat_id, message_id, created_mono)`` for each once all are sent."""

    def sent_count(self) -> int:
        """How many messages the bot has sent."""

    def arrivals(self) -> list[Arrival]:
        """Every message the bot sent, oldest first."""

    def duplicates(self) -> int:
        """How many sends repeated an earlier one to the same chat."""


async def wait_until(predicate: Callable[[], T], timeout: float, poll: float = 0.02) -> T:  # noqa: ASYNC109
    """Poll ``predicate`` until it is truthy; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(poll)


class ThreadDriver:
    """The emulator in a background thread of this process."""

    def __init__(self, token: str) -> None:
        self.emu = EmulatorThread(token=token)
        self.token = token
        self.base_url = self.file_base_url = ""

    def __enter__(self) -> ThreadDriver:
        self.emu.start()
        self.base_url, self.file_base_url = self.emu.base_url, self.emu.file_base_url
        return self

    def __exit__(self, *exc: object) -> None:
        self.emu.stop()

    def add_user(self, user_id: int, name: str, *, language_code: str, started: bool = False) -> None:
        """Create a user."""
        self.emu.add_user(user_id, name, language_code=language_code, started=started)

    async def inject(self, messages: list[tuple[int, str]], rate: float | None = None) -> list[tuple[int, int, float]]:
        """Users send texts (paced on the emulator thread's loop when ``rate`` is given)."""
        before = len(self.emu.injections_snapshot())
        if rate:
            await asyncio.wrap_future(self.emu.submit(self.emu.send_texts_paced(list(messages), rate)))
        else:
            self.emu.send_texts(list(messages))
        return self.emu.injections_snapshot()[before:]

    def sent_count(self) -> int:
        """How many messages the bot has sent."""
        return self.emu.sent_count

    def arrivals(self) -> list[Arrival]:
        """Every message the bot sent."""
        return [Arrival(e.chat_id, e.text or e.caption or "", e.mono) for e in self.emu.transcript
                if e.method.startswith("send")]

    def duplicates(self) -> int:
        """Repeated sends."""
        return sum(d["count"] - 1 for d in self.emu.duplicate_sends())


class ProcessDriver:
    """The emulator as its own process (``python -m emulator``), driven over its HTTP control API."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.base_url = self.file_base_url = ""
        self._process = EmulatorProcess(token)
        self.remote: RemoteEmulator | None = None

    def __enter__(self) -> ProcessDriver:
        self._process.start()
        self.base_url, self.file_base_url = self._process.base_url, self._process.file_base_url
        self.remote = RemoteEmulator(self._process.control_url, timeout=120)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.remote is not None:
            self.remote.close()
        self._process.stop()

    def _r(self) -> RemoteEmulator:
        assert self.remote is not None, "use ProcessDriver as a context manager"
        return self.remote

    def add_user(self, user_id: int, name: str, *, language_code: str, started: bool = False) -> None:
        """Create a user."""
        self._r().action("add_user", user_id=user_id, first_name=name, language_code=language_code,
                         started=started)

    async def inject(self, messages: list[tuple[int, str]], rate: float | None = None) -> list[tuple[int, int, float]]:
        """Users send texts: one control request, then (paced) a cheap poll until all are sent."""
        remote = self._r()
        before = len(remote.query("injections"))
        if rate:
            remote.action("pace_texts", messages=[list(m) for m in messages], rate=rate)
            await wait_until(lambda: len(remote.query("injections")) >= before + len(messages),
                             timeout=len(messages) / rate + 60, poll=0.25)
        else:
            remote.action("send_texts", messages=[list(m) for m in messages])
        return [(int(c), int(m), float(t)) for c, m, t in remote.query("injections")[before:]]

    def sent_count(self) -> int:
        """How many messages the bot has sent."""
        return int(self._r().query("sent_count"))

    def arrivals(self) -> list[Arrival]:
        """Every message the bot sent."""
        return [Arrival(e["chat_id"], e.get("text") or e.get("caption") or "", e["mono"])
                for e in self._r().query("transcript") if str(e["method"]).startswith("send")]

    def duplicates(self) -> int:
        """Repeated sends."""
        return sum(d["count"] - 1 for d in self._r().stats()["duplicates"])
