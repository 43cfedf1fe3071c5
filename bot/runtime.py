"""Wire receiver, inbox processor, outbox sender and periodic jobs into one bot process.

Every process receives and stores updates (webhook mode); only the holder of the leader lease
(``cases.leader``) processes the inbox, sends the outbox, runs the periodic jobs and, in polling
mode, polls. On SIGINT/SIGTERM the process stops receiving, lets the transactions and sends under way
finish, and releases the lease.

Every long-lived task runs under :func:`bot.supervise.supervise`: database and network outages are retried
with a capped back-off; a task that dies of anything else takes the process down (the lease is released
first, so another process takes over at once). Leader work is fenced: each of its transactions proves the
lease's holder and epoch before committing (``cases.leader.fence``), and nothing is sent once the lease has
not been renewed for its whole term by this process's monotonic clock (a process frozen past its lease).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine
from telegram import Bot, User
from telegram.error import InvalidToken

from bot.processor import GiveUpHook, Handler, InboxProcessor
from bot.ptb import GET_UPDATES_TIMEOUT, make_bot
from bot.receiver import PollingReceiver, WebhookReceiver, set_webhook, webhook_path, webhook_secret
from bot.sender import OutboxSender, sender_from_settings
from bot.sender_process import SenderProcess
from bot.supervise import Backoff, describe, is_outage, supervise
from cases import job_log, leader, redact
from cases.clock import Clock, utcnow
from cases.db import COMMIT_GUARD, session_scope, unguarded
from cases.settings import Settings

log = logging.getLogger(__name__)

class TokenRejected(Exception):
    """The Bot API answered getMe with 401/404: the token is wrong (a configuration error, not retried)."""


JobFn = Callable[[Engine, datetime], object]
"""A periodic job: it opens its own transactions on the engine (keeping each write short)."""
Job = tuple[str, float, JobFn]
"""A periodic job: (name, every N seconds, callable(engine, now)); its runs are noted in ``job_run``."""


LEASE_MARGIN = 0.1
"""The share of the lease's term this process stops short of, against clock-rate differences."""


class TaskDied(RuntimeError):
    """A long-lived task of the bot died of an unexpected error (the process exits non-zero)."""


class Runtime:
    """One bot process. ``await start()`` / ``await stop()``, or the blocking ``run_polling``/``run_webhook``."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        rules: Any,
        handler: Handler,
        on_give_up: GiveUpHook | None = None,
        jobs: Sequence[Job] = (),
        *,
        bot: Bot | None = None,
        on_ready: Callable[[User], None] | None = None,
        holder: str | None = None,
        lease_name: str = leader.DEFAULT_LOCK,
        lease_ttl: float = 30.0,
        poll_timeout: int = GET_UPDATES_TIMEOUT,
        processor_options: dict[str, Any] | None = None,
        sender_options: dict[str, Any] | None = None,
        sender_process: bool = False,
        clock: Clock = utcnow,
    ) -> None:
        """``sender_process``: the leader's outbox sender runs in a child process (:mod:`bot.sender_process`,
        a second core; the same limits and guarantees), else in this process's event loop."""
        self.settings, self.engine, self.rules, self.handler = settings, engine, rules, handler
        redact.install(settings.token)  # no log record of this process carries the token (cases.redact)
        self.on_give_up, self.jobs, self.on_ready, self.clock = on_give_up, list(jobs), on_ready, clock
        self.bot = bot if bot is not None else make_bot(settings)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{random.randrange(16**6):06x}"
        self.lease_name, self.lease_ttl, self.poll_timeout = lease_name, lease_ttl, poll_timeout
        self.processor_options = processor_options or {}
        self.sender_options = sender_options or {}
        self.sender_process = sender_process
        self.mode = "polling"
        self.public_url: str | None = None
        self.secret = webhook_secret(settings.token or "", settings.webhook_secret)
        self.is_leader = False
        self.processor: InboxProcessor | None = None
        self.sender: OutboxSender | SenderProcess | None = None
        self.poller: PollingReceiver | None = None
        self.webhook: WebhookReceiver | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._job_runs: set[asyncio.Future[Any]] = set()
        self._leader_tasks: list[asyncio.Task[None]] = []
        self._lease_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._started = False
        self._done: asyncio.Event | None = None  # set by a signal or a task's death while serving
        self._dying: asyncio.Task[None] | None = None
        self.epoch: int | None = None
        self._proven_until = 0.0  # monotonic time until which this process may act as the leader
        self.failure: BaseException | None = None  # why a task died

    # ------------------------------------------------------------------ lifecycle
    async def start(self, *, webhook_url: str | None = None, listen: str = "0.0.0.0", port: int = 8443) -> None:
        """Connect to Telegram, start receiving, and start competing for leadership. A start that fails or
        is cancelled part-way is undone by :meth:`stop`."""
        self._stopping.clear()
        self._started = True
        await self._initialize_bot()
        if webhook_url:
            self.mode, self.public_url = "webhook", webhook_url
            self.webhook = WebhookReceiver(self.engine, secret=self.secret, on_stored=self._stored,
                                           clock=self.clock)
            await self.webhook.start(listen, port)
        await self._lease_round()
        self._lease_task = asyncio.create_task(
            supervise("lease", self._keep_lease, stopping=self._stopping.is_set, on_death=self._die,
                      redact=self._redact), name="gridbot-lease")
        self._started = True

    async def stop(self) -> None:
        """Stop receiving, finish the work under way, release the lease, close the HTTP clients."""
        if not self._started:
            return
        self._started = False
        self._stopping.set()
        if self._lease_task is not None:
            self._lease_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lease_task
        if self.webhook is not None:
            await self.webhook.stop()
        await self._step_down()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._release)
        with contextlib.suppress(Exception):
            await self.bot.shutdown()
        for request in getattr(self.bot, "_request", ()):  # opened by a Bot.initialize() that then failed
            with contextlib.suppress(Exception):
                await request.shutdown()

    def run_polling(self) -> None:
        """Run with long polling until SIGINT/SIGTERM; :class:`TaskDied` if a task died."""
        run_until_stopped(self._serve())

    def run_webhook(self, public_url: str, listen: str = "0.0.0.0", port: int = 8443) -> None:
        """Serve the webhook on ``listen:port`` (Telegram posts to ``public_url``) until SIGINT/SIGTERM;
        :class:`TaskDied` if a task died."""
        run_until_stopped(self._serve(webhook_url=public_url, listen=listen, port=port))

    async def serve(self, **start: Any) -> None:
        """Run inside an event loop the caller owns (e.g. beside the web console); see :meth:`_serve`."""
        await self._serve(**start)

    async def _serve(self, **start: Any) -> None:
        """Start, run until SIGINT/SIGTERM (or a task's death), stop. A signal ends every phase: during start-up
        (Bot API retries included) the start is abandoned; during shutdown a second signal leaves the work under
        way (unsent messages stay in the outbox, the lease runs out)."""
        loop = asyncio.get_running_loop()
        stop, force = asyncio.Event(), asyncio.Event()
        self._done = stop

        def on_signal() -> None:
            (force if stop.is_set() else stop).set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, on_signal)
        starting = asyncio.create_task(self.start(**start), name="gridbot-start")
        signalled = asyncio.create_task(stop.wait(), name="gridbot-signal")
        try:
            await asyncio.wait({starting, signalled}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                log.info("stop signal during start-up")
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await starting
            else:
                starting.result()  # a start that failed (e.g. the token was rejected) ends the process
                log.info("gridbot running (%s) as %s", self.mode, self.holder)
                await signalled
        finally:
            signalled.cancel()
            log.info("shutting down")
            stopping = asyncio.create_task(self.stop(), name="gridbot-stop")
            forced = asyncio.create_task(force.wait(), name="gridbot-force")
            await asyncio.wait({stopping, forced}, return_when=asyncio.FIRST_COMPLETED)
            if not stopping.done():
                log.warning("second stop signal: leaving the work under way (it resumes at the next start)")
                stopping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopping
            forced.cancel()
            _ignore_late_signals(loop)
        if self.failure is not None:
            raise TaskDied(describe(self.failure, self._redact)) from None

    def _die(self, exc: BaseException) -> None:
        """A task died of a bug: stop everything and release the lease, so nothing renews it while the work
        loops are dead (serving, the process then exits non-zero)."""
        if self.failure is not None:
            return
        self.failure = exc
        log.critical("a bot task died; releasing the lease and stopping so that another process takes over")
        if self._done is not None:
            self._done.set()
        else:
            self._dying = asyncio.get_running_loop().create_task(self.stop(), name="gridbot-die")

    def _redact(self, text: str) -> str:
        return redact.redact(text)

    def lease_proven(self) -> bool:
        """Whether this process renewed the lease recently enough to act as the leader now."""
        return self.is_leader and time.monotonic() < self._proven_until

    def _lease_deadline(self) -> float:
        """The monotonic time until which this process may act as the leader (0 if it is not the leader)."""
        return self._proven_until if self.is_leader else 0.0

    async def _initialize_bot(self) -> None:
        backoff = Backoff(base=1.0)
        while True:
            try:
                await self.bot.initialize()
                break
            except InvalidToken:
                raise TokenRejected("the Bot API rejected the token") from None
            except Exception as exc:
                if self._stopping.is_set():
                    raise
                delay = backoff.failure()
                log.warning("cannot reach the Bot API (%s); retrying in %.0fs", describe(exc, self._redact), delay)
                await asyncio.sleep(delay)
        if self.on_ready is not None:
            self.on_ready(self.bot.bot)

    # ------------------------------------------------------------------ leadership
    def _acquire(self) -> int | None:
        """Take or renew the lease by the database's clock; its epoch if we hold it, else None."""
        with unguarded(), session_scope(self.engine) as session:
            now = leader.database_now(session)
            if not leader.try_acquire(session, name=self.lease_name, holder=self.holder, ttl=self.lease_ttl,
                                      now=now):
                return None
            return leader.epoch_of(session, name=self.lease_name, holder=self.holder)

    def _release(self) -> None:
        with unguarded(), session_scope(self.engine) as session:
            leader.release(session, name=self.lease_name, holder=self.holder)

    async def _lease_round(self) -> None:
        asked = time.monotonic()  # the lease runs from a moment after this one
        try:
            epoch = await asyncio.to_thread(self._acquire)
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("lease check failed: %s", describe(exc, self._redact))
            if self.is_leader and not self.lease_proven():
                log.warning("cannot renew the leader lease; stopping leader-only work")
                await self._step_down()
            return
        if epoch is not None and self.is_leader and epoch != self.epoch:
            log.warning("the leader lease was taken over meanwhile (epoch %s → %s)", self.epoch, epoch)
            await self._step_down()
        if epoch is not None:
            self._proven_until = asked + self.lease_ttl * (1 - LEASE_MARGIN)
            if isinstance(self.sender, SenderProcess):
                self.sender.lease()
            if not self.is_leader:
                self.epoch = epoch
                await self._become_leader()
        elif self.is_leader:
            log.warning("lost the leader lease; stopping leader-only work")
            await self._step_down()

    async def _keep_lease(self) -> None:
        """Renew every third of the term, and at once when the term this process can prove runs out."""
        while not self._stopping.is_set():
            wait = self.lease_ttl / 3
            if self.is_leader:
                wait = max(0.01, min(wait, self._proven_until - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)
            if not self._stopping.is_set():
                await self._lease_round()

    async def _become_leader(self) -> None:
        log.info("%s is the leader (lease epoch %s)", self.holder, self.epoch)
        self.is_leader = True
        if self.sender_process:
            self.sender = SenderProcess(self.engine, self.settings, proven_until=self._lease_deadline,
                                        clock=self.clock, options=self.sender_options)
        else:
            self.sender = sender_from_settings(self.engine, self.bot, self.settings, clock=self.clock,
                                               may_send=self.lease_proven, **self.sender_options)
        self.processor = InboxProcessor(self.engine, self.bot, self.handler, on_give_up=self.on_give_up,
                                        on_commit=self.sender.wake, clock=self.clock,
                                        **self.processor_options)
        self._leader_tasks = [self._spawn("processor", self.processor.run), self._spawn("sender", self.sender.run)]
        if self.mode == "polling":
            self.poller = PollingReceiver(self.bot, self.engine, on_stored=self._stored,
                                          timeout=self.poll_timeout, clock=self.clock)
            self._leader_tasks.append(self._spawn("poller", self.poller.run))
        elif self.public_url:
            try:
                await set_webhook(self.bot, self.public_url, self.secret, path=webhook_path(self.secret))
            except Exception:
                log.exception("setWebhook failed; Telegram keeps the previous webhook")
        self._start_scheduler()

    def _fence(self) -> None:
        """From here on, every transaction of this task proves the lease before it commits."""
        assert self.epoch is not None
        COMMIT_GUARD.set(leader.fence(name=self.lease_name, holder=self.holder, epoch=self.epoch))

    def _spawn(self, name: str, body: Callable[[], Any]) -> asyncio.Task[None]:
        """A supervised, fenced leader task."""
        async def fenced() -> None:
            self._fence()
            await supervise(name, body, stopping=lambda: self._stopping.is_set() or not self.is_leader,
                            on_death=self._die, redact=self._redact)

        return asyncio.create_task(fenced(), name=f"gridbot-{name}")

    async def _step_down(self) -> None:
        if not self.is_leader:
            return
        self.is_leader = False
        if isinstance(self.sender, SenderProcess):
            self.sender.lease()  # the child stops sending now, as an in-process sender would
        if self.poller is not None:
            self.poller.stop()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._job_runs:
            await asyncio.gather(*self._job_runs, return_exceptions=True)
        if self.processor is not None:
            self.processor.stop()
        if self.sender is not None:
            self.sender.stop()
        results = await asyncio.gather(*self._leader_tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                log.error("leader task ended with %r", result)
        self._leader_tasks = []
        self.poller = None

    def _stored(self) -> None:
        if self.processor is not None:
            self.processor.wake()

    # ------------------------------------------------------------------ periodic jobs
    def _start_scheduler(self) -> None:
        if not self.jobs:
            return
        scheduler = AsyncIOScheduler(timezone=UTC)
        for name, seconds, fn in self.jobs:
            scheduler.add_job(self._run_job, "interval", seconds=seconds, args=[name, seconds, fn], id=name,
                              max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
        scheduler.start()
        self._scheduler = scheduler

    async def _run_job(self, name: str, seconds: float, fn: JobFn) -> None:
        if not self.lease_proven():
            return
        self._fence()
        run = asyncio.ensure_future(asyncio.to_thread(self._recorded, name, seconds, fn))
        self._job_runs.add(run)
        run.add_done_callback(self._job_runs.discard)
        try:
            await asyncio.shield(run)  # a stop cancels this wait, not the run: stepping down waits for it
        except asyncio.CancelledError:
            return
        except Exception as exc:
            if is_outage(exc):
                log.warning("periodic job %s failed: %s", name, describe(exc, self._redact))
            else:
                log.exception("periodic job %s failed", name)
        if self.sender is not None:
            self.sender.wake()

    def _recorded(self, name: str, seconds: float, fn: JobFn) -> None:
        """Run a job, noting in ``job_run`` when it started and how it ended (for ``gridbot status``)."""
        with session_scope(self.engine) as session:
            job_log.started(session, name=name, interval=seconds, holder=self.holder, now=self.clock())
        try:
            fn(self.engine, self.clock())
        except Exception as exc:
            with session_scope(self.engine) as session:
                job_log.finished(session, name=name, now=self.clock(), error=f"{exc.__class__.__name__}: {exc}")
            raise
        with session_scope(self.engine) as session:
            job_log.finished(session, name=name, now=self.clock())


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _ignore_late_signals(loop: asyncio.AbstractEventLoop) -> None:
    """Once shut down, a stop signal does nothing. The loop's handlers are swapped for a no-op in place (one
    ``signal.signal`` call each: there is no moment with the default action, which would end the process by the
    signal instead of exit 0), and the main thread then blocks the signals, so that the default action the loop's
    close puts back cannot act on them either (see :func:`run_until_stopped`)."""
    for sig in _STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, _late_signal)
    if threading.current_thread() is threading.main_thread():
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)


def _late_signal() -> None:
    log.info("stop signal after shutdown: ignored")


def run_until_stopped(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run(main)``; a stop signal that arrives after the shutdown (blocked, or pending while the loop
    closes) is discarded: ignored first, then unblocked."""
    try:
        asyncio.run(main)
    finally:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
