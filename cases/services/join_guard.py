"""How many wrong invite codes a chat may try: after :data:`MAX_FAILURES` within :data:`WINDOW` the chat is
locked out for :data:`LOCKOUT` (every code, right or wrong, is refused meanwhile) and supervisors are told
once per lockout. A right code clears the count. Guessing a 10-letter code is hopeless at 5 tries an hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from cases.clock import as_utc
from cases.models import JoinGuard, Person, Role, RoleAssignment

MAX_FAILURES = 5
WINDOW = timedelta(minutes=30)
LOCKOUT = timedelta(hours=1)


@dataclass(frozen=True)
class Failure:
    """After a wrong code: how many in the window, and ``locked_until`` when this one locked the chat."""

    failures: int
    locked_until: datetime | None


def locked_until(session: Session, chat_id: int, *, now: datetime) -> datetime | None:
    """When the chat may try again, if it is locked out now."""
    guard = session.get(JoinGuard, chat_id)
    if guard is None or guard.locked_until is None or as_utc(guard.locked_until) <= now:
        return None
    return as_utc(guard.locked_until)


def record_failure(session: Session, chat_id: int, *, now: datetime) -> Failure:
    """Count a wrong code (a new window once the last one passed); lock the chat at :data:`MAX_FAILURES`."""
    guard = session.get(JoinGuard, chat_id, with_for_update=True)
    if guard is None:
        guard = JoinGuard(chat_id=chat_id, failures=0, first_failed_at=now)
    if now - as_utc(guard.first_failed_at) > WINDOW or guard.locked_until is not None:
        guard.failures, guard.first_failed_at, guard.locked_until = 0, now, None
    guard.failures += 1
    locked = now + LOCKOUT if guard.failures >= MAX_FAILURES else None
    guard.locked_until = locked
    session.add(guard)
    session.flush()
    return Failure(guard.failures, locked)


def clear(session: Session, chat_id: int) -> None:
    """A right code: forget the chat's wrong ones."""
    guard = session.get(JoinGuard, chat_id)
    if guard is not None:
        session.delete(guard)


def supervisors(session: Session) -> list[Person]:
    """Everyone holding the supervisor role (whatever their scope): they hear of lockouts."""
    query = (
        select(Person)
        .join(RoleAssignment, col(RoleAssignment.person_id) == col(Person.id))
        .where(col(RoleAssignment.role) == Role.SUPERVISOR.value)
        .distinct()
        .order_by(col(Person.id))
    )
    return list(session.exec(query).all())
