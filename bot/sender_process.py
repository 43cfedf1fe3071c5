"""The leader's side of the outbox sender in a child process (:mod:`bot.sender_child`): a second core sends.

The child is the leader's only sender and keeps every rate limit; this process stays the database's only
writer: it records each outcome the child reports in short group transactions (the sender's own
:func:`bot.sender.record_outcomes`) and then tells the child which rows are recorded, so that the child's
rows "accepted, not yet recorded" stay out of its reads until their record is committed.

Fencing: the child sends only before the deadline this process proved its lease until (sent at every
renewal, 0 when it steps down); the child dies with this process (``PR_SET_PDEATHSIG``, and the socket's end).
A child that dies of a bug takes this process down (:class:`SenderChildDied`, as any task's bug does); one
killed (a signal, the OOM killer) is an outage: the outcomes it reported are recorded first, then a new
child starts after :func:`bot.supervise.supervise`'s back-off and counts every limit as used up at the
moment the old one died, so no limit's window sees more sends than allowed. Sends the dead child had not
reported yet may go out twice (at most ``concurrency``), as after a crash of the whole process.
The token and the database URL go over the socket, never in the child's argv or environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bot import sender_link
from bot.sender import GROUP_COMMIT_DELAY, _Outcome, record_outcomes
from bot.supervise import Backoff, describe, is_outage
from cases.clock import Clock, utcnow
from cases.redact import redact
from cases.settings import Settings

log = logging.getLogger(__name__)

_ROOT = str(Path(__file__).resolve().parent.parent)
_SECRET_VARIABLES = ("GRIDBOT_TOKEN", "GRIDBOT_DATABASE_URL", "GRIDBOT_WEBHOOK_SECRET", "GRIDBOT_WEB_SECRET")
STOP_GRACE = 30.0
"""Seconds a stopping child may take to finish the sends under way before it is killed."""


class SenderChildDied(RuntimeError):
    """The sender child died of a bug (not an outage): the leader process goes down with it."""


class SenderChildLost(ConnectionError):
    """The sender child was killed (an outage: a new one is started after a back-off)."""


class SenderProcess:
    """Runs the outbox sender as a child process while :meth:`run` runs; call :meth:`wake` after queuing rows
    and :meth:`lease` whenever the lease's proven deadline changes."""

    def __init__(self, engine: Engine, settings: Settings, *, proven_until: Callable[[], float],
                 clock: Clock = utcnow, options: dict[str, Any] | None = None) -> None:
        self.engine, self.settings, self.clock = engine, settings, clock
        self.proven_until = proven_until
        self.options = options or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.used_until: float | None = None  # when a previous child died: it may have sent until then
        self.sent = 0
        self.ready = asyncio.Event()  # the current child is connected to the Bot API
        self._writer: asyncio.StreamWriter | None = None
        self._stopping = False
        self._wake_due = False
        self._to_record: list[tuple[int, int, _Outcome]] = []
        self._recorder: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ from the runtime
    def wake(self) -> None:
        """Rows were queued: the child looks at the outbox (wake-ups of one loop pass share one message)."""
        if not self._wake_due and self._writer is not None:
            self._wake_due = True
            asyncio.get_running_loop().call_soon(self._send_wake)

    def _send_wake(self) -> None:
        self._wake_due = False
        self._send(("wake",))

    def lease(self) -> None:
        """The lease's proven deadline changed: tell the child."""
        self._send(("lease", self.proven_until()))

    def stop(self) -> None:
        """The child stops sending, finishes the sends under way, and :meth:`run` returns once they are recorded."""
        self._stopping = True
        self._send(("lease", self.proven_until()))
        self._send(("stop",))

    def _send(self, message: tuple[Any, ...]) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(sender_link.encode(message))

    # ------------------------------------------------------------------ the child's life
    async def run(self) -> None:
        """Start the child and record its outcomes until it ends; see the module's docstring for its death."""
        if self._stopping:
            return
        self.ready.clear()
        parent_end, child_end = socket.socketpair()
        try:
            self.process = self._spawn(child_end)
        except BaseException:
            parent_end.close()
            raise
        finally:
            child_end.close()
        try:
            reader, self._writer = await asyncio.open_connection(sock=parent_end)
            self._send(("config", self._config()))
            self._send(("lease", self.proven_until()))
            if self._stopping:
                self._send(("stop",))
            while (message := await sender_link.receive(reader)) is not None:
                if message[0] == "ready":
                    self.ready.set()
                elif message[0] == "outcomes":
                    self._to_record.extend(message[1])
                    if self._recorder is None or self._recorder.done():
                        self._recorder = asyncio.create_task(self._record(), name="outbox-recorder")
            if self._recorder is not None:
                await self._recorder  # what the child reported is recorded before anything else happens
            status = await self._wait_exit()
        finally:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if self.process.poll() is None:  # cancelled: no child outlives its run
                self.process.kill()
                with contextlib.suppress(Exception):
                    self.process.wait(timeout=5)
        if status == 0 and self._stopping:
            return
        self.used_until = time.monotonic()
        if status == sender_link.BUG_EXIT:
            raise SenderChildDied("the sender process died of an error (see its log above)")
        raise SenderChildLost(f"the sender process ended with status {status}")

    def _spawn(self, child_end: socket.socket) -> subprocess.Popen[bytes]:
        env = {name: value for name, value in os.environ.items() if name not in _SECRET_VARIABLES}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
        fd = child_end.fileno()
        return subprocess.Popen([sys.executable, "-m", "bot.sender_child", "--fd", str(fd)], env=env,
                                pass_fds=(fd,), stdin=subprocess.DEVNULL, close_fds=True)

    def _config(self) -> dict[str, Any]:
        return {"settings": self.settings.model_dump(), "parent": os.getpid(),
                "database_url": self.engine.url.render_as_string(hide_password=False),
                "options": self.options, "used_until": self.used_until,
                "log_level": logging.getLogger().getEffectiveLevel()}

    async def _wait_exit(self) -> int:
        """The child's exit status; killed if it is still there ``STOP_GRACE`` seconds after its socket closed."""
        assert self.process is not None
        try:
            return await asyncio.to_thread(self.process.wait, STOP_GRACE)
        except subprocess.TimeoutExpired:
            log.warning("the sender process did not end; killing it")
            self.process.kill()
            return await asyncio.to_thread(self.process.wait)

    # ------------------------------------------------------------------ recording
    async def _record(self) -> None:
        """Record what the child reported in group transactions, then tell it which rows are recorded.

        Retried through database outages: until recorded, a row stays in flight in the child (never sent
        again). Once stopping, an outcome that failed to be recorded three times is given up on (the row is
        sent again by the next leader), as by the in-process sender."""
        backoff = Backoff()
        while self._to_record:
            await asyncio.sleep(GROUP_COMMIT_DELAY)
            batch, self._to_record = self._to_record, []
            try:
                await asyncio.to_thread(record_outcomes, self.engine, batch, now=self.clock())
            except Exception as exc:
                delay = backoff.failure()
                log.warning("could not record %d outbox outcomes (attempt %d): %s; retrying in %.1f s", len(batch),
                            backoff.failures, describe(exc, redact), delay)
                if not (self._stopping and backoff.failures >= 3):
                    if not is_outage(exc):
                        log.error("recording outbox outcomes failed", exc_info=exc)
                    self._to_record[:0] = batch
                    await asyncio.sleep(delay)
                    continue
            else:
                backoff.success()
                self.sent += sum(1 for _, _, outcome in batch if outcome.kind == "sent")
            self._send(("recorded", [row_id for row_id, _, _ in batch]))
