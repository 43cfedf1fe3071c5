"""Group commit for the inbox processor: every waiting update, up to a cap, handled in ONE transaction.

Each update runs in its own SAVEPOINT inside the group's transaction: a failing update rolls back only
its own writes (its failure is recorded in the same transaction), the others of the group commit.
Updates are taken in ``update_id`` order and a chat whose update failed (or waits for a retry) is skipped
for the rest of the group, so each chat's order is kept. Marking an update processed is part of its
savepoint, so a crash before the group's commit leaves every update of the group pending (replayed
once on restart) and a crash after it leaves none: nothing lost, nothing doubled.

A group ends after ``group_max`` updates or ``group_ms`` milliseconds of handling, whichever comes first,
so the sender (and, on SQLite, everything else that writes) never waits long for the database. If the
group's transaction itself fails (not an update's handling: the commit, or a savepoint that cannot be
rolled back), nothing of it is kept and its updates are handled again one transaction each.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session
from telegram import Bot, Update

from bot.supervise import is_outage
from cases import inbox
from cases.clock import Clock
from cases.db import session_scope

if TYPE_CHECKING:
    from bot.processor import GiveUpHook, Handler, _Item

log = logging.getLogger(__name__)

DEFAULT_GROUP_MAX = 100
DEFAULT_GROUP_MS = 20.0


@dataclass(frozen=True)
class Failure:
    """What became of an update whose handling failed: to be retried at ``retry_at`` (monotonic time), or
    given up (None); ``told``: given up and ``on_give_up``'s writes committed with it."""

    retry_at: float | None
    told: bool = False


@dataclass
class _Group:
    """What one group did, applied to the processor's counters only once the group has committed."""

    finished: int = 0  # handled, given up, or found already done
    handled: int = 0
    given_up: int = 0
    consumed: int = 0  # items looked at (finished, failed or skipped)
    retry_at: dict[int, float] = field(default_factory=dict)
    done_ids: list[int] = field(default_factory=list)
    failed_chats: list[str] = field(default_factory=list)


class GroupCommit:
    """Mixed into :class:`bot.processor.InboxProcessor`: the group-commit way of handling a pass."""

    engine: Engine
    bot: Bot
    handler: Handler
    on_give_up: GiveUpHook | None
    clock: Clock
    max_attempts: int
    retry_base: float
    retry_cap: float
    group_max: int
    group_ms: float
    processed: int
    given_up: int
    _stopping: bool
    _retry_at: dict[int, float]
    _committed: Callable[[], None]

    def _run_groups(self, items: list[_Item], chat_key: Callable[[_Item], str]) -> tuple[int, list[_Item]]:
        """Handle ``items`` (``update_id`` order) group after group; returns how many were finished and the
        items of a group whose transaction failed (for the one-transaction-each path)."""
        done, rest, blocked = 0, list(items), set[str]()
        while rest and not self._stopping:
            try:
                group = self._run_group(rest, blocked, chat_key)
            except Exception as exc:
                if is_outage(exc):
                    raise  # the database is away or the lease lost: nobody's fault here (the loop backs off)
                log.exception("a group transaction failed; its updates are handled one transaction each")
                return done, rest
            self._apply(group)
            blocked.update(group.failed_chats)
            done += group.finished
            rest = rest[group.consumed:]
        return done, []

    def _run_group(self, items: list[_Item], blocked: set[str], chat_key: Callable[[_Item], str]) -> _Group:
        group = _Group()
        started = time.monotonic()
        skip = set(blocked)
        with session_scope(self.engine) as session:
            for item in items:
                if self._stopping or group.finished >= self.group_max or \
                        (time.monotonic() - started) * 1000 >= self.group_ms:
                    break
                group.consumed += 1
                key = chat_key(item)
                if key in skip:
                    continue  # strict order: the rest of this chat waits behind its failing update
                if self._retry_at.get(item.update_id, 0.0) > time.monotonic():
                    skip.add(key)
                    continue
                if not self._handle_in(session, item, group):
                    skip.add(key)
                    group.failed_chats.append(key)
        return group

    def _apply(self, group: _Group) -> None:
        """The group committed: count it, schedule its retries and wake the sender once per update."""
        for update_id in group.done_ids:
            self._retry_at.pop(update_id, None)
        self._retry_at.update(group.retry_at)
        self.processed += group.handled
        self.given_up += group.given_up
        for _ in range(group.handled + group.given_up):
            self._committed()

    def _handle_in(self, session: Session, item: _Item, group: _Group) -> bool:
        """One update in its own savepoint of the group's transaction; False if it failed and will be
        retried (its chat then waits)."""
        now = self.clock()
        update: Update | None = None
        try:
            with session.begin_nested():
                update = Update.de_json(item.payload, self.bot)
                if not inbox.take(session, item.update_id, now=now):
                    group.finished += 1  # someone else finished it meanwhile
                    group.done_ids.append(item.update_id)
                    return True
                self.handler(session, update, now=now)
        except Exception as exc:
            if is_outage(exc):
                raise  # not this update's fault: the whole group waits for the database (or the lease)
            failure = self._settle_failure(_savepoint(session), item, update, exc)
            if failure.retry_at is not None:
                group.retry_at[item.update_id] = failure.retry_at
                return False
            group.given_up += 1
        else:
            group.handled += 1
        group.finished += 1
        group.done_ids.append(item.update_id)
        return True

    def _settle_failure(self, scope: Callable[[], AbstractContextManager[Session]], item: _Item,
                        update: Update | None, exc: Exception) -> Failure:
        """Record that handling ``item`` raised ``exc``, in transactions opened by ``scope``: below
        ``max_attempts`` a failure to retry after a jittered exponential back-off; then give up: the update is
        marked processed with its error and ``on_give_up`` is told in the same transaction (if that fails, the
        mark is written alone)."""
        error = f"{exc.__class__.__name__}: {exc}"[:2000]
        attempts = item.attempts + 1
        now = self.clock()
        log.warning("update %s failed (attempt %d): %s", item.update_id, attempts, error, exc_info=exc)
        if attempts < self.max_attempts:
            with scope() as session:
                inbox.record_failure(session, item.update_id, error=error, now=now)
            delay = min(self.retry_cap, self.retry_base * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
            return Failure(time.monotonic() + delay)
        log.error("giving up on update %s after %d attempts: %s", item.update_id, self.max_attempts, error)
        if self.on_give_up is not None and update is not None:
            try:
                with scope() as session:
                    inbox.mark_processed(session, item.update_id, now=now, error=error)
                    self.on_give_up(session, update, error, now=now)
                return Failure(None, told=True)
            except Exception:
                log.exception("on_give_up failed for update %s", item.update_id)
        with scope() as session:
            inbox.mark_processed(session, item.update_id, now=now, error=error)
        return Failure(None)


def _savepoint(session: Session) -> Callable[[], AbstractContextManager[Session]]:
    """Transactions for :meth:`GroupCommit._settle_failure` inside the group's: savepoints of ``session``."""

    @contextmanager
    def scope() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    return scope
