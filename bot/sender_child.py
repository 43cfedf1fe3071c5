"""The leader's outbox sender in a process of its own (``python -m bot.sender_child --fd N``).

It is the only sender of the leader: it reads the outbox (a reader: no write lock), sends within the limits
(:class:`bot.sender.OutboxSender`, unchanged), and hands every outcome to the parent, which records it and
answers with the recorded row ids; until then the row stays in flight here (left out of every read, at
most ``concurrency`` of them), exactly as when the sender records itself. It sends only while the parent's
lease is proven (the deadline the parent sends, on the machine-wide monotonic clock), and dies with the
parent: ``PR_SET_PDEATHSIG`` kills it at once, and the end of the socket stops every send.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from typing import Any

from bot import sender_link
from bot.sender import OutboxSender, _Job, _Outcome, sender_from_settings
from bot.supervise import Backoff, describe, supervise
from cases import redact
from cases.db import make_engine
from cases.settings import Settings

log = logging.getLogger("bot.sender_child")

_PR_SET_PDEATHSIG = 1


class PipedSender(OutboxSender):
    """An :class:`OutboxSender` whose outcomes are recorded by the parent process (one writer)."""

    def __init__(self, *args: Any, writer: asyncio.StreamWriter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer = writer
        self._outgoing: list[tuple[int, int, _Outcome]] = []
        self._waiting: dict[int, asyncio.Future[None]] = {}

    async def _record_until_done(self, job: _Job, outcome: _Outcome) -> None:
        """Hand the outcome to the parent and wait until it says the row is recorded."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[job.id] = future
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)  # outcomes of one loop pass share a message
        self._outgoing.append((job.id, job.chat_id, outcome))
        await future

    def _flush(self) -> None:
        batch, self._outgoing = self._outgoing, []
        if batch and not self._writer.is_closing():
            self._writer.write(sender_link.encode(("outcomes", batch)))

    def recorded(self, row_ids: list[int]) -> None:
        """The parent committed these rows' outcomes."""
        for row_id in row_ids:
            future = self._waiting.pop(row_id, None)
            if future is not None and not future.done():
                future.set_result(None)

    def orphaned(self) -> None:
        """The parent is gone: nothing more is sent, and nothing can be recorded."""
        self.may_send = lambda: False
        self.stop()
        for future in self._waiting.values():
            if not future.done():
                future.set_result(None)
        self._waiting.clear()


async def serve(sock: socket.socket, config: dict[str, Any]) -> int:
    """Send until the parent says stop (0) or is gone (0); :data:`bot.sender_link.BUG_EXIT` after a bug."""
    reader, writer = await asyncio.open_connection(sock=sock)
    settings = Settings.model_construct(**config["settings"])
    engine = make_engine(config["database_url"])
    from bot.ptb import make_bot  # after the redaction is installed: PTB may log URLs

    bot = make_bot(settings)
    proven_until = 0.0

    def may_send() -> bool:
        return time.monotonic() < proven_until

    sender = sender_from_settings(engine, bot, settings, may_send=may_send, writer=writer, factory=PipedSender,
                                  **config["options"])
    assert isinstance(sender, PipedSender)
    if config.get("used_until") is not None:
        sender.assume_used_until(config["used_until"])
    failure: list[BaseException] = []
    told_to_stop = asyncio.Event()

    async def listen() -> None:
        nonlocal proven_until
        while (message := await sender_link.receive(reader)) is not None:
            kind = message[0]
            if kind == "lease":
                proven_until = float(message[1])
            elif kind == "wake":
                sender.wake()
            elif kind == "recorded":
                sender.recorded(message[1])
            elif kind == "stop":
                sender.stop()
                told_to_stop.set()
        proven_until = 0.0
        sender.orphaned()
        told_to_stop.set()

    listening = asyncio.create_task(listen(), name="sender-child-listen")
    try:
        await _initialize(bot, told_to_stop)
        writer.write(sender_link.encode(("ready",)))
        if not told_to_stop.is_set():
            await supervise("sender", sender.run, stopping=lambda: sender._stopping, on_death=failure.append,
                            redact=redact.redact)
    finally:
        listening.cancel()
        writer.close()
        engine.dispose()
        try:
            await bot.shutdown()
        except Exception as exc:  # closing an HTTP client: nothing left to lose
            log.debug("bot shutdown: %s", describe(exc, redact.redact))
    return sender_link.BUG_EXIT if failure else 0


async def _initialize(bot: Any, stop: asyncio.Event) -> None:
    """Open the bot's HTTP clients (getMe), retrying until the Bot API answers or the child is to stop."""
    backoff = Backoff(base=1.0)
    while not stop.is_set():
        try:
            await bot.initialize()
            return
        except Exception as exc:
            delay = backoff.failure()
            log.warning("cannot reach the Bot API (%s); retrying in %.0fs", describe(exc, redact.redact), delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)


def _die_with_parent(parent: int) -> None:
    """SIGKILL as soon as the parent exits; exit now if it already has."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


def main(argv: list[str]) -> int:
    """Entry point: the socket's file descriptor is the only argument (``--fd N``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop (a terminal's ^C, systemd)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sock = socket.socket(fileno=int(argv[argv.index("--fd") + 1]))
    first = sender_link.receive_blocking(sock)
    if first is None or first[0] != "config":
        return 0
    config: dict[str, Any] = first[1]
    _die_with_parent(config["parent"])
    redact.install(config["settings"].get("token"))
    logging.basicConfig(level=config.get("log_level", logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s[sender]: %(message)s")
    try:
        return asyncio.run(serve(sock, config))
    except Exception:  # outages are retried inside: whatever ends it here is a bug
        log.critical("the sender process died", exc_info=True)
        return sender_link.BUG_EXIT


if __name__ == "__main__":
    sys.exit(main(sys.argv))
