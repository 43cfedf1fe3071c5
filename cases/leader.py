"""A lease in ``scheduler_lock``: exactly one process at a time is the leader.

The leader runs the inbox processor, the outbox sender and the periodic jobs; other processes only
receive and store updates. Acquiring is a conditional UPDATE (take over an expired lease, or extend our
own) followed by an ``INSERT ... ON CONFLICT DO NOTHING`` when no row exists yet, so it is safe with
concurrent callers on PostgreSQL. On SQLite one bot process is the documented limit.
Callers commit (each call belongs in its own short transaction).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session

from cases.clock import as_utc
from cases.db import insert_if_new, insert_ignoring, rowcount
from cases.models import SchedulerLock

DEFAULT_LOCK = "leader"
_LOCKS = SchedulerLock.__table__  # type: ignore[attr-defined]
_FIRST_LEASE = insert_ignoring(_LOCKS, conflict=["name"], returning=_LOCKS.c.name)


def _ttl(ttl: timedelta | float) -> timedelta:
    return ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)


def try_acquire(session: Session, *, name: str = DEFAULT_LOCK, holder: str, ttl: timedelta | float,
                now: datetime) -> bool:
    """Take or extend lease ``name`` for ``holder`` until ``now + ttl``; False if another holds it."""
    now = as_utc(now)
    expires = now + _ttl(ttl)
    taken = session.execute(
        update(_LOCKS)
        .where(_LOCKS.c.name == name)
        .where((_LOCKS.c.holder == holder) | (_LOCKS.c.expires_at <= now))
        .values(holder=holder, expires_at=expires)
    )
    if rowcount(taken) == 1:
        return True
    return insert_if_new(session, _FIRST_LEASE, _LOCKS, {"name": name, "holder": holder, "expires_at": expires})


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
