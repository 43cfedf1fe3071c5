"""A lease in ``scheduler_lock``: exactly one process at a time is the leader, fenced by an epoch.

The leader runs the inbox processor, the outbox sender and the periodic jobs; other processes only
receive and store updates. Acquiring is a conditional UPDATE (take over an expired lease, or extend our
own) followed by an ``INSERT ... ON CONFLICT DO NOTHING`` when no row exists yet, so it is safe with
concurrent callers on PostgreSQL. On SQLite one bot process is the documented limit.

Every takeover by another holder increments ``epoch``. Leader work proves its lease inside its own
transaction (:func:`fence`): the row must still name this holder and epoch and be unexpired, on PostgreSQL
by the server's clock and under a shared row lock, so a takeover waits for the work's commit and a leader
that was frozen past its lease cannot commit beside the new one. Liveness is lease expiry alone: no process
judges another dead by its PID or host name.
Callers commit (each call belongs in its own short transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, case, delete, func, select, update
from sqlmodel import Session

from cases.clock import as_utc
from cases.db import insert_if_new, insert_ignoring, rowcount
from cases.models import SchedulerLock

DEFAULT_LOCK = "leader"
_LOCKS = SchedulerLock.__table__  # type: ignore[attr-defined]
_FIRST_LEASE = insert_ignoring(_LOCKS, conflict=["name"], returning=_LOCKS.c.name)


class LeaseLost(RuntimeError):
    """Leader work found that its lease (holder and epoch) no longer holds; the transaction is rolled back."""


def _ttl(ttl: timedelta | float) -> timedelta:
    return ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)


def database_now(session: Session) -> datetime:
    """The database's clock (PostgreSQL's ``clock_timestamp()``), so that every process, on any host,
    measures leases by one clock; SQLite (one process, one host) uses this host's clock."""
    if session.get_bind().dialect.name == "postgresql":
        return as_utc(session.execute(select(func.clock_timestamp())).scalar_one())
    return datetime.now(UTC)


def try_acquire(session: Session, *, name: str = DEFAULT_LOCK, holder: str, ttl: timedelta | float,
                now: datetime) -> bool:
    """Take or extend lease ``name`` for ``holder`` until ``now + ttl``; False if another holds it.

    Taking over from another holder increments the epoch; extending our own keeps it."""
    now = as_utc(now)
    expires = now + _ttl(ttl)
    taken = session.execute(
        update(_LOCKS)
        .where(_LOCKS.c.name == name)
        .where((_LOCKS.c.holder == holder) | (_LOCKS.c.expires_at <= now))
        .values(holder=holder, expires_at=expires,
                epoch=case((_LOCKS.c.holder == holder, _LOCKS.c.epoch), else_=_LOCKS.c.epoch + 1))
    )
    if rowcount(taken) == 1:
        return True
    return insert_if_new(session, _FIRST_LEASE, _LOCKS,
                         {"name": name, "holder": holder, "expires_at": expires, "epoch": 1})


def epoch_of(session: Session, *, name: str = DEFAULT_LOCK, holder: str) -> int | None:
    """The epoch of lease ``name`` if ``holder`` holds it (expired or not), else None."""
    return session.execute(
        select(_LOCKS.c.epoch).where(_LOCKS.c.name == name, _LOCKS.c.holder == holder)
    ).scalar()


def renew(session: Session, *, name: str = DEFAULT_LOCK, holder: str, ttl: timedelta | float,
          now: datetime) -> bool:
    """Extend our unexpired lease; False means we are no longer the leader (stop leader-only work)."""
    now = as_utc(now)
    result = session.execute(
        update(_LOCKS)
        .where(_LOCKS.c.name == name, _LOCKS.c.holder == holder, _LOCKS.c.expires_at > now)
        .values(expires_at=now + _ttl(ttl))
    )
    return rowcount(result) == 1


def release(session: Session, *, name: str = DEFAULT_LOCK, holder: str) -> bool:
    """Give the lease up so another process can take it at once; False if we did not hold it."""
    result = session.execute(delete(_LOCKS).where(_LOCKS.c.name == name, _LOCKS.c.holder == holder))
    return rowcount(result) == 1


def current_holder(session: Session, *, name: str = DEFAULT_LOCK, now: datetime) -> str | None:
    """Who holds an unexpired lease ``name`` (None if nobody)."""
    row = session.get(SchedulerLock, name)
    if row is None or as_utc(row.expires_at) <= as_utc(now):
        return None
    return row.holder


_HELD = (_LOCKS.c.name == bindparam("name"), _LOCKS.c.holder == bindparam("holder"),
         _LOCKS.c.epoch == bindparam("epoch"))
_HOLDS = select(_LOCKS.c.epoch).where(*_HELD, _LOCKS.c.expires_at > bindparam("now"))
_HOLDS_PG = (select(_LOCKS.c.epoch).where(*_HELD, _LOCKS.c.expires_at > func.clock_timestamp())
             .with_for_update(read=True))
"""Prepared once: the fence runs before every commit of leader work."""


def holds(session: Session, *, name: str = DEFAULT_LOCK, holder: str, epoch: int) -> bool:
    """Whether ``holder`` still holds lease ``name`` at ``epoch``, unexpired by the database's clock.

    On PostgreSQL the lease row stays share-locked until this transaction ends, so a takeover (an UPDATE
    of the row) waits for it: the work of this transaction commits under the lease it proved, or not at all.
    """
    params = {"name": name, "holder": holder, "epoch": epoch}
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(_HOLDS_PG, params).first() is not None
    return session.execute(_HOLDS, {**params, "now": datetime.now(UTC)}).first() is not None


def fence(*, name: str = DEFAULT_LOCK, holder: str, epoch: int) -> Callable[[Session], None]:
    """A commit guard (:data:`cases.db.COMMIT_GUARD`) for leader work: raises :class:`LeaseLost` before a
    commit unless the lease still holds, so the work is rolled back."""

    def guard(session: Session) -> None:
        if not holds(session, name=name, holder=holder, epoch=epoch):
            raise LeaseLost(f"the {name} lease of {holder} (epoch {epoch}) no longer holds")

    return guard
