"""A lease in ``scheduler_lock``: exactly one process at a time is the leader.

The leader runs the inbox processor, the outbox sender and the periodic jobs; other processes only
receive and store updates. Acquiring is a conditional UPDATE (take over an expired lease, or extend our
own) followed by an ``INSERT ... ON CONFLICT DO NOTHING`` when no row exists yet, so it is safe with
concurrent callers on PostgreSQL. On SQLite one bot process is the documented limit.
Callers commit (each call belongs in its own short transaction).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import CursorResult, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from cases.clock import as_utc
from cases.models import SchedulerLock

DEFAULT_LOCK = "leader"


def _ttl(ttl: timedelta | float) -> timedelta:
    return ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)


def _rowcount(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


def try_acquire(session: Session, *, name: str = DEFAULT_LOCK, holder: str, ttl: timedelta | float,
                now: datetime) -> bool:
    """Take or extend lease ``name`` for ``holder`` until ``now + ttl``; False if another holds it."""
    now = as_utc(now)
    expires = now + _ttl(ttl)
    table = SchedulerLock.__table__  # type: ignore[attr-defined]
    taken = session.execute(
        update(table)
        .where(table.c.name == name)
        .where((table.c.holder == holder) | (table.c.expires_at <= now))
        .values(holder=holder, expires_at=expires)
    )
    if _rowcount(taken) == 1:
        return True
    values = {"name": name, "holder": holder, "expires_at": expires}
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        statement = insert.values(**values).on_conflict_do_nothing(index_elements=["name"])
        return session.execute(statement.returning(table.c.name)).first() is not None
    try:  # other databases: a unique violation means someone else holds it
        with session.begin_nested():
            session.execute(table.insert().values(**values))
    except IntegrityError:
        return False
    return True


def renew(session: Session, *, name: str = DEFAULT_LOCK, holder: str, ttl: timedelta | float,
          now: datetime) -> bool:
    """Extend our unexpired lease; False means we are no longer the leader (stop leader-only work)."""
    now = as_utc(now)
    table = SchedulerLock.__table__  # type: ignore[attr-defined]
    result = session.execute(
        update(table)
        .where(table.c.name == name, table.c.holder == holder, table.c.expires_at > now)
        .values(expires_at=now + _ttl(ttl))
    )
    return _rowcount(result) == 1


def release(session: Session, *, name: str = DEFAULT_LOCK, holder: str) -> bool:
    """Give the lease up so another process can take it at once; False if we did not hold it."""
    table = SchedulerLock.__table__  # type: ignore[attr-defined]
    result = session.execute(delete(table).where(table.c.name == name, table.c.holder == holder))
    return _rowcount(result) == 1


def current_holder(session: Session, *, name: str = DEFAULT_LOCK, now: datetime) -> str | None:
    """Who holds an unexpired lease ``name`` (None if nobody)."""
    row = session.get(SchedulerLock, name)
    if row is None or as_utc(row.expires_at) <= as_utc(now):
        return None
    return row.holder
