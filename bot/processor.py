"""Feed stored updates to the handler: in update_id order per chat, waiting updates grouped in one transaction.

Each update is handled in its own savepoint of a group transaction (``bot.group_commit``) that also marks
it processed, so a crash either keeps all of its effects (tickets, outbox rows) or none, and the update is
replayed on the next start. If a group's transaction itself fails, its updates are handled one transaction
each, chats concurrently. A failing
update is retried with back-off and, after ``max_attempts``, given up (kept with its error for an
operator) and reported to ``on_give_up``. Later updates of the same chat wait behind a failing one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlmodel import Session
from telegram import Bot, Update

from bot.group_commit import DEFAULT_GROUP_MAX, DEFAULT_GROUP_MS, GroupCommit
from bot.supervise import is_outage
from cases import inbox
from cases.clock import Clock, utcnow
from cases.db import read_scope, session_scope

log = logging.getLogger(__name__)


class Handler(Protocol):
    """Handles one update inside the caller's transaction (writes outbox rows, never calls Telegram)."""

    def __call__(self, session: Session, update: Update, *, now: datetime) -> None: ...


class GiveUpHook(Protocol):
    """Told, in its own transaction, that an update failed for good (e.g. to apologise to the resident)."""

    def __call__(self, session: Session, update: Update, error: str, *, now: datetime) -> None: ...


@dataclass(frozen=True)
class _Item:
    update_id: int
    chat_id: int | None
    payload: dict[str, Any]
    attempts: int


def _chat_key(item: _Item) -> str:
    return f"c{item.chat_id}" if item.chat_id is not None else f"u{item.update_id}"


class InboxProcessor(GroupCommit):
    """Processes the inbox until stopped; call :meth:`wake` after storing new updates."""

    def __init__(
        self,
        engine: Engine,
        bot: Bot,
        handler: Handler,
        *,
        on_give_up: GiveUpHook | None = None,
        on_commit: Callable[[], None] = lambda: None,
        concurrency: int = 8,
        batch: int = 500,
        poll_interval: float = 1.0,
        max_attempts: int = 5,
        retry_base: float = 1.0,
        retry_cap: float = 60.0,
        clock: Clock = utcnow,
        group_max: int = DEFAULT_GROUP_MAX,
        group_ms: float = DEFAULT_GROUP_MS,
    ) -> None:
        self.engine, self.bot, self.handler, self.on_give_up = engine, bot, handler, on_give_up
        self.group_max, self.group_ms = group_max, group_ms
        self.on_commit, self.clock = on_commit, clock
        self.batch, self.poll_interval, self.max_attempts = batch, poll_interval, max_attempts
        self.retry_base, self.retry_cap = retry_base, retry_cap
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._retry_at: dict[int, float] = {}  # update_id -> monotonic time of the next attempt
        self.processed = 0
        self.given_up = 0

    def wake(self) -> None:
        """New updates were stored: look at the inbox now."""
        self._wake.set()

    def stop(self) -> None:
        """End :meth:`run` after the transactions under way have finished."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Replay everything unprocessed, then keep processing until :meth:`stop`."""
        while not self._stopping:
            self._wake.clear()
            handled = await self.process_pending()
            if handled or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._idle_timeout())

    def _idle_timeout(self) -> float:
        if not self._retry_at:
            return self.poll_interval
        soonest = min(self._retry_at.values()) - time.monotonic()
        return max(0.01, min(self.poll_interval, soonest))

    async def process_pending(self) -> int:
        """One pass over the pending inbox; returns how many updates were finished (handled or given up)."""
        self._loop = asyncio.get_running_loop()
        items = await asyncio.to_thread(self._load)
        done, rest = await asyncio.to_thread(self._run_groups, items, _chat_key)
        return done + await self._run_chats(rest)

    async def _run_chats(self, items: list[_Item]) -> int:
        """Handle ``items`` one transaction each, a worker thread per chat."""
        chats: dict[str, list[_Item]] = {}
        for item in items:
            chats.setdefault(_chat_key(item), []).append(item)
        results = await asyncio.gather(*(self._run_chat(queue) for queue in chats.values()))
        return sum(results)

    def _load(self) -> list[_Item]:
        with read_scope(self.engine) as session:
            rows = inbox.pending(session, limit=self.batch)
            return [_Item(r.update_id, r.chat_id, dict(r.payload), r.attempts) for r in rows]

    async def _run_chat(self, queue: list[_Item]) -> int:
        async with self._slots:
            # One worker-thread call per chat queue: the updates follow each other without waiting for
            # the event loop in between (each still in its own transaction).
            return await asyncio.to_thread(self._run_queue, queue)

    def _run_queue(self, queue: list[_Item]) -> int:
        done = 0
        for item in queue:
            if self._stopping:
                break
            if self._retry_at.get(item.update_id, 0.0) > time.monotonic():
                break  # strict order: the rest of this chat waits behind it
            if not self._process(item):
                break
            done += 1
        return done

    def _committed(self) -> None:
        """Tell ``on_commit`` (an event-loop callback) from the worker thread that committed."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.on_commit)

    def _process(self, item: _Item) -> bool:
        """Handle one update in one transaction; False if it failed and will be retried."""
        now = self.clock()
        update: Update | None = None
        try:
            update = Update.de_json(item.payload, self.bot)
            with session_scope(self.engine) as session:
                if not inbox.take(session, item.update_id, now=now):
                    return True  # someone else finished it meanwhile
                self.handler(session, update, now=now)
        except Exception as exc:
            if is_outage(exc):
                raise  # the database is away or the lease lost: not this update's fault (the loop backs off)
            failure = self._settle_failure(lambda: session_scope(self.engine), item, update, exc)
            if failure.retry_at is not None:
                self._retry_at[item.update_id] = failure.retry_at
                return False
            self._retry_at.pop(item.update_id, None)
            self.given_up += 1
            if failure.told:
                self._committed()
            return True
        self._retry_at.pop(item.update_id, None)
        self.processed += 1
        self._committed()
        return True
