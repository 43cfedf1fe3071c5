"""Deliver outbox rows to Telegram, outside any database transaction, within Telegram's rate limits.

Each pass takes the head of every chat: its most urgent unsent row, the oldest of those (so a chat's rows of
one priority go out strictly in id order and a waiting row blocks only its own chat); the heads are served
most urgent first (``outbox_message.priority``: emergency cards and advice, then claims and escalations, then
routine replies, then digests), so a backlog of routine replies never delays an emergency card. It sends what
the limits allow concurrently and records the outcomes in short group transactions. Callback answers
(chat 0) are unordered and go first.

A chat is free for its next row as soon as Telegram accepted the previous one: the acceptance is recorded
asynchronously, and until it is, the row is known here to be sent (it is left out of every read, so it is
never sent again, and an edit of it gets its message id from memory). At most ``concurrency`` rows are in
flight, counting those accepted but not yet recorded (what a crash could send twice). A row that failed or
must be retried keeps its chat until that outcome is recorded.
Retries are durable (``not_before`` in the row); nothing is dropped except what can never be sent.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, bindparam, func, or_, select
from telegram import Bot, InputFile
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.ptb import retry_after_seconds
from bot.sending import CALLBACK_CHAT_ID, PHOTO_KEY, REF_KEY
from bot.supervise import describe
from cases import outbox
from cases.clock import Clock, utcnow
from cases.db import READ_ONLY, session_scope, unguarded
from cases.models import OutboxMessage
from cases.redact import install as install_redaction
from cases.redact import redact
from cases.services.people import mark_unreachable

log = logging.getLogger(__name__)

CALLBACK_METHOD = "answerCallbackQuery"
NOT_MODIFIED = "message is not modified"


GROUP_COMMIT_DELAY = 0.005
"""How long finished sends wait to share one transaction recording them as sent."""

LOAD_INTERVAL = 0.02
"""The shortest time between two reads of the outbox: under load, wake-ups coalesce into one read."""

IN_FLIGHT_POLL = 0.05
"""How soon to look again when the limit is taken up entirely by requests still in flight."""


_TABLE = OutboxMessage.__table__  # type: ignore[attr-defined]
_PENDING = and_(_TABLE.c.sent_at.is_(None), _TABLE.c.failed_at.is_(None),
                _TABLE.c.id.not_in(bindparam("accepted", expanding=True)))
_RANKED = (
    select(_TABLE.c.id, func.row_number().over(partition_by=_TABLE.c.chat_id,
                                               order_by=(_TABLE.c.priority, _TABLE.c.id)).label("rank"))
    .where(_PENDING, _TABLE.c.chat_id != CALLBACK_CHAT_ID)
    .subquery()
)
_HEADS = (
    select(_TABLE.c.id, _TABLE.c.chat_id, _TABLE.c.method, _TABLE.c.payload, _TABLE.c.attempts)
    .where(_PENDING, _TABLE.c.not_before <= bindparam("now"))
    .where(or_(_TABLE.c.chat_id == CALLBACK_CHAT_ID, _TABLE.c.id.in_(select(_RANKED.c.id).where(_RANKED.c.rank == 1))))
    .order_by((_TABLE.c.chat_id != CALLBACK_CHAT_ID), _TABLE.c.priority, _TABLE.c.id)
    .limit(bindparam("limit"))
)
"""The sender's read (see :meth:`OutboxSender._load`), built once: due callback answers and every chat's head,
leaving out the rows ``accepted`` by Telegram whose record may not be committed yet."""
_REFERENCED = select(_TABLE.c.id, _TABLE.c.result_message_id, _TABLE.c.sent_at, _TABLE.c.failed_at).where(
    _TABLE.c.id.in_(bindparam("ids", expanding=True)))


class WindowLimiter:
    """At most ``count`` events in any ``window`` seconds (a sliding log, stricter than a token bucket)."""

    def __init__(self, count: int, window: float) -> None:
        self.count, self.window = max(1, count), window
        self._times: deque[float] = deque()
        self._open: list[float] = []

    @classmethod
    def per_second(cls, rate: float) -> WindowLimiter:
        """``rate`` events per second as ``round(rate)`` per ``round(rate)/rate`` seconds (at least 1)."""
        count = max(1, round(rate))
        return cls(count, count / rate)

    def wait(self, now: float) -> float:
        """Seconds until one more event is allowed (0 if now). Requests still in flight always count."""
        while self._times and now - self._times[0] >= self.window:
            self._times.popleft()
        if len(self._times) + len(self._open) < self.count:
            return 0.0
        if self._times:
            return self._times[0] + self.window - now
        return IN_FLIGHT_POLL

    def fill(self, at: float) -> None:
        """Count the whole limit as used at ``at`` (a predecessor may have sent that much until then)."""
        self._times.extend([at] * (self.count - len(self._times)))

    def record(self, now: float) -> None:
        """Count one instantaneous event at ``now``."""
        self._times.append(now)

    def begin(self, now: float) -> None:
        """A request starts: it counts until :meth:`finish`, then for a window after it finished."""
        self._open.append(now)

    def finish(self, started: float, finished: float) -> None:
        """The request begun at ``started`` is done at ``finished``.

        Telegram counts a message when it arrives, somewhere between the two; counting an in-flight request
        all along and a finished one from its end means no window at Telegram can hold more than ``count``.
        """
        if started in self._open:
            self._open.remove(started)
            self._times.append(finished)


@dataclass
class _Job:
    id: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    attempts: int
    ref: tuple[int | None, bool] | None = None  # referenced row: (message_id if sent, failed)
    started: float | None = None  # monotonic time the chat's limiter recorded for this send


@dataclass
class _Outcome:
    kind: str  # "sent" | "retry" | "failed"
    message_id: int | None = None
    error: str | None = None
    delay: float = 0.0
    unreachable: bool = False


class OutboxSender:
    """Sends due outbox rows until stopped; call :meth:`wake` after queuing rows."""

    def __init__(
        self,
        engine: Engine,
        bot: Bot,
        *,
        global_per_second: float = 30.0,
        private_per_second: float = 1.0,
        group_per_minute: float = 20.0,
        margin: float = 0.05,
        poll_interval: float = 1.0,
        batch: int = 500,
        concurrency: int = 32,
        backoff_base: float = 1.0,
        backoff_cap: float = 5.0,
        storm_chats: int = 3,
        may_send: Callable[[], bool] = lambda: True,
        clock: Clock = utcnow,
    ) -> None:
        """``backoff_cap``: the longest wait before retrying a row after a network error or a 5xx, so sending
        resumes within seconds of the Bot API answering again. ``may_send``: asked before each send (the
        leader lease still proven); while it says no, nothing is sent."""
        self.engine, self.bot, self.clock, self.may_send = engine, bot, clock, may_send
        self._reader: Engine | None = None  # the engine for reads, which take no write lock (SQLite)
        install_redaction(bot.token)  # errors carry Bot API URLs, hence the token
        self.poll_interval, self.batch, self.concurrency = poll_interval, batch, concurrency
        self.backoff_base, self.backoff_cap, self.storm_chats = backoff_base, backoff_cap, storm_chats
        self.margin = margin
        self._global = WindowLimiter.per_second(global_per_second)
        self._global.window += margin
        self._private_rate, self._group_per_minute = private_per_second, group_per_minute
        self._chats: dict[int, WindowLimiter] = {}
        self._paused: dict[int, float] = {}  # chat -> monotonic time it may send again
        self._paused_all = 0.0
        self._recent_429: deque[tuple[float, int]] = deque()
        self._in_flight: dict[int, int] = {}  # row id -> chat id, from the start of its send until recorded
        self._busy: dict[int, int] = {}  # chat id -> row id: the chat's call not yet accepted by Telegram
        self._accepted: dict[int, int | None] = {}  # row id -> message id: sent, not yet recorded
        self._accepted_at_load: dict[int, int | None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._to_record: list[tuple[_Job, _Outcome, asyncio.Future[None]]] = []
        self._recorder: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._used_until: float | None = None
        self.sent = 0
        self.failed = 0
        self.retried = 0

    def wake(self) -> None:
        """Rows were queued: look at the outbox now."""
        self._wake.set()

    def assume_used_until(self, at: float) -> None:
        """Another sender may have sent until the monotonic time ``at``: every limit (global, each chat's)
        counts as used up at that moment, so nothing here goes out before its window since then has passed."""
        self._used_until = at
        self._global.fill(at)
        for limiter in self._chats.values():
            limiter.fill(at)

    def stop(self) -> None:
        """End :meth:`run` once the sends under way are recorded."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Send until :meth:`stop`, then wait for the sends already started."""
        try:
            last_load = -LOAD_INTERVAL
            while not self._stopping:
                pause = last_load + LOAD_INTERVAL - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                self._wake.clear()
                last_load = time.monotonic()
                started, wait = await self.send_pending()
                if started or self._stopping:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=max(0.005, min(wait, self.poll_interval)))
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def send_pending(self) -> tuple[int, float]:
        """Start sending what the limits allow now; returns (sends started, seconds until more may go)."""
        in_flight_before = set(self._in_flight)
        self._accepted_at_load = dict(self._accepted)  # read by ``_load`` in its thread
        jobs = await asyncio.to_thread(self._load)
        # Only this method starts sends, so a row in flight before the read and not after it finished
        # meanwhile: the read may predate the record of its outcome and must not start it again.
        stale = in_flight_before - self._in_flight.keys()
        started, wait = 0, self.poll_interval
        for job in jobs:
            if job.id in stale:
                continue
            if len(self._in_flight) >= self.concurrency or not self.may_send():
                break
            now = time.monotonic()
            if self._paused_all > now:
                return started, self._paused_all - now
            if job.id in self._in_flight:
                continue
            if job.chat_id != CALLBACK_CHAT_ID:
                if job.chat_id in self._busy:
                    continue
                hold = max(self._paused.get(job.chat_id, 0.0) - now, self._limiter(job.chat_id).wait(now))
                if hold > 0:
                    wait = min(wait, hold)
                    continue
                hold = self._global.wait(now)
                if hold > 0:
                    return started, min(wait, hold)
            if job.ref is not None and job.ref[0] is None and not job.ref[1]:
                continue  # the message to edit is not sent yet
            if job.chat_id != CALLBACK_CHAT_ID:
                self._limiter(job.chat_id).begin(now)
                self._global.begin(now)
                job.started = now
            self._in_flight[job.id] = job.chat_id
            if job.chat_id != CALLBACK_CHAT_ID:
                self._busy[job.chat_id] = job.id
            task = asyncio.create_task(self._deliver(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started, wait

    def _limiter(self, chat_id: int) -> WindowLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            if chat_id < 0:
                limiter = WindowLimiter(max(1, round(self._group_per_minute)), 60.0 + self.margin)
            else:
                limiter = WindowLimiter.per_second(self._private_rate)
                limiter.window += self.margin
            if self._used_until is not None:
                limiter.fill(self._used_until)
            self._chats[chat_id] = limiter
        return limiter

    # ------------------------------------------------------------------ database side (threads)
    def _load(self) -> list[_Job]:
        """Due callback answers, then the head of every chat if it is due, most urgent first.

        Rows Telegram accepted whose record may not be committed yet (a copy of them taken before the read)
        count as sent, so the next row of their chat can be its head.

        A chat's head is its most urgent pending row, the oldest of those (``priority, id``): an emergency card
        overtakes the routine replies queued for the same chat, and rows of one priority keep their order.
        An edit is never more urgent than the message it edits (see :func:`bot.sending.queue_edit`), so it
        cannot overtake it. Across chats the most urgent heads come first, so the global limit serves them.
        """
        accepted = self._accepted_at_load
        params = {"accepted": list(accepted), "now": self.clock(), "limit": self.batch}
        if self._reader is None:
            self._reader = self.engine.execution_options(**{READ_ONLY: True})
        with self._reader.connect() as conn:
            jobs = [_Job(r.id, r.chat_id, r.method, dict(r.payload), r.attempts) for r in conn.execute(_HEADS, params)]
            refs = {int(j.payload[REF_KEY]) for j in jobs if j.payload.get(REF_KEY) is not None}
            state: dict[int, tuple[int | None, bool]] = {}
            if refs:
                rows = conn.execute(_REFERENCED, {"ids": list(refs)})
                for r in rows:
                    state[r.id] = (r.result_message_id if r.sent_at is not None else None, r.failed_at is not None)
            state.update({row_id: (message_id, False) for row_id, message_id in accepted.items() if row_id in refs})
        for job in jobs:
            if job.payload.get(REF_KEY) is not None:
                job.ref = state.get(int(job.payload[REF_KEY]), (None, True))
        return jobs

    def _record(self, job: _Job, outcome: _Outcome) -> None:
        self._record_many([(job, outcome)])

    def _record_many(self, results: list[tuple[_Job, _Outcome]]) -> None:
        """Record the outcomes of several sends in one transaction (a group commit)."""
        record_outcomes(self.engine, [(job.id, job.chat_id, outcome) for job, outcome in results], now=self.clock())

    async def _record_soon(self, job: _Job, outcome: _Outcome) -> None:
        """Queue an outcome for the next group commit and wait until it is recorded."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._to_record.append((job, outcome, future))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._group_commit(), name="outbox-recorder")
        await future

    async def _group_commit(self) -> None:
        while self._to_record:
            await asyncio.sleep(GROUP_COMMIT_DELAY)  # let the sends finishing together share a transaction
            batch, self._to_record = self._to_record, []
            try:
                await asyncio.to_thread(self._record_many, [(job, outcome) for job, outcome, _ in batch])
            except Exception as exc:
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for *_, future in batch:
                    if not future.done():
                        future.set_result(None)

    # ------------------------------------------------------------------ Telegram side
    async def _deliver(self, job: _Job) -> None:
        try:
            try:
                outcome = await self._call(job)
            finally:
                self._accept_window(job)
            if outcome.kind == "sent":
                self._accepted[job.id] = outcome.message_id
                self._free(job)  # the chat's next row may go now; this one is recorded meanwhile
            await self._record_until_done(job, outcome)
            if outcome.kind == "sent":
                self.sent += 1
            elif outcome.kind == "failed":
                self.failed += 1
                log.warning("gave up on outbox message %s (%s to chat %s): %s", job.id, job.method,
                            masked_chat(job.chat_id), outcome.error)
            else:
                self.retried += 1
        finally:
            self._free(job)
            self._in_flight.pop(job.id, None)
            self._accepted.pop(job.id, None)
            self._wake.set()

    def _accept_window(self, job: _Job) -> None:
        """The call is over: from now on it counts in the limits' windows as finished at this moment."""
        if job.started is not None:
            finished = time.monotonic()
            self._limiter(job.chat_id).finish(job.started, finished)
            self._global.finish(job.started, finished)
            job.started = None

    def _free(self, job: _Job) -> None:
        if self._busy.get(job.chat_id) == job.id:
            del self._busy[job.chat_id]
            self._wake.set()

    async def _record_until_done(self, job: _Job, outcome: _Outcome) -> None:
        """Record the outcome, retrying through database outages; the row stays in flight (never sent again)
        until its outcome is recorded."""
        attempt = 0
        while True:
            try:
                if attempt == 0:
                    await self._record_soon(job, outcome)
                else:
                    await asyncio.to_thread(self._record, job, outcome)
                return
            except Exception as exc:
                attempt += 1
                delay = min(self.backoff_cap, 0.5 * 2 ** min(attempt - 1, 10))
                log.warning("could not record outbox row %s (attempt %d): %s: %s; retrying in %.1f s",
                            job.id, attempt, exc.__class__.__name__, " ".join(str(exc).split())[:200], delay)
                if self._stopping and attempt >= 3:
                    return
                await asyncio.sleep(delay)

    def _backoff(self, job: _Job) -> float:
        return min(self.backoff_cap, self.backoff_base * 2 ** min(job.attempts, 20)) * random.uniform(0.5, 1.0)

    async def _call(self, job: _Job) -> _Outcome:
        params = {k: v for k, v in job.payload.items() if not k.startswith("_")}
        if job.ref is not None:
            message_id, failed = job.ref
            if message_id is None:
                return _Outcome("failed", error="the message to edit was never sent" if failed else "no message")
            params["message_id"] = message_id
        if job.payload.get(PHOTO_KEY):
            params["photo"] = InputFile(base64.b64decode(job.payload[PHOTO_KEY]), filename="photo.png")
        try:
            result = await self.bot.do_api_request(job.method, api_kwargs=params)
        except RetryAfter as exc:
            delay = retry_after_seconds(exc)
            self._on_429(job.chat_id, delay)
            return _Outcome("retry", error=str(exc), delay=delay)
        except Forbidden as exc:
            return _Outcome("failed", error=str(exc), unreachable=job.chat_id > 0)
        except ChatMigrated as exc:
            return _Outcome("failed", error=f"chat migrated to {exc.new_chat_id}")
        except BadRequest as exc:
            if NOT_MODIFIED in exc.message.lower():
                return _Outcome("sent", message_id=params.get("message_id"))
            return _Outcome("failed", error=exc.message)
        except (TelegramError, Exception) as exc:  # TimedOut, NetworkError, 5xx, bad token: keep trying
            error = describe(exc, redact)  # URLs carry the token
            log.warning("outbox row %s: %s; retrying", job.id, error)
            return _Outcome("retry", error=error, delay=self._backoff(job))
        message_id = result.get("message_id") if isinstance(result, dict) else params.get("message_id")
        return _Outcome("sent", message_id=message_id)

    def _on_429(self, chat_id: int, delay: float) -> None:
        """Pause the chat; when several chats hit 429 within a second, pause everything."""
        now = time.monotonic()
        self._paused[chat_id] = max(self._paused.get(chat_id, 0.0), now + delay)
        self._recent_429.append((now, chat_id))
        while self._recent_429 and now - self._recent_429[0][0] > 1.0:
            self._recent_429.popleft()
        if len({chat for _, chat in self._recent_429}) >= self.storm_chats:
            self._paused_all = max(self._paused_all, now + delay)


def record_outcomes(engine: Engine, results: Sequence[tuple[int, int, _Outcome]], *, now: datetime) -> None:
    """Record the outcomes of several sends, each ``(row id, chat id, outcome)``, in one transaction.

    What was delivered is a fact whoever leads now: recorded without the lease fence, so that a new leader
    does not send it again."""
    with unguarded(), session_scope(engine) as session:
        outbox.mark_sent_many(session, [(row_id, outcome.message_id) for row_id, _, outcome in results
                                        if outcome.kind == "sent"], now=now)
        for row_id, chat_id, outcome in results:
            if outcome.kind == "sent":
                continue
            if outcome.kind == "retry":
                outbox.mark_retry(session, row_id, not_before=now + timedelta(seconds=outcome.delay),
                                  error=outcome.error or "", now=now)
            else:
                outbox.mark_failed(session, row_id, error=outcome.error or "", now=now)
                if outcome.unreachable:
                    mark_unreachable(session, telegram_id=chat_id, now=now)


def masked_chat(chat_id: int) -> str:
    """A chat id for a log line: enough to tell chats apart, not enough to find a person (``***567``)."""
    return f"{'-' if chat_id < 0 else ''}***{str(abs(chat_id))[-3:]}"


def sender_from_settings(engine: Engine, bot: Bot, settings: Any, *, factory: type[OutboxSender] = OutboxSender,
                         **kwargs: Any) -> OutboxSender:
    """An :class:`OutboxSender` (or ``factory``) with the rates from :class:`cases.settings.Settings`."""
    return factory(
        engine, bot,
        global_per_second=settings.outbox_global_per_second,
        private_per_second=settings.outbox_private_per_second,
        group_per_minute=settings.outbox_group_per_minute,
        **kwargs,
    )
