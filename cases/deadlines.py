"""Deadlines stored on a ticket, and the next moment the sweep must look at it.

A limit counts wall-clock time, or working time when the rules file says ``8 working hours`` /
``2 working days`` (see :mod:`cases.working_time`). Escalation offsets (``escalation[i].after``),
``auto_close_after`` and ``locate_within`` are wall-clock durations.

``next_due_at(rules, ticket)`` is the earliest pending step of a ticket; services that change a
ticket's status, claim or deadlines should store it in ``Ticket.next_due_at`` (the sweep also repairs a
stale value when it meets one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from cases.clock import as_utc
from cases.durations import Limit
from cases.models import Status
from cases.rules.schema import Rules
from cases.working_time import WorkingDays, calendar_for

# Claim reminders repeat every claim limit while nobody claims, until the resolve deadline
# (from then on the escalation ladder speaks); at most this many.
MAX_CLAIM_REMINDERS = 3


class Clocked(Protocol):
    """What the deadline functions read from a ticket (a ``Ticket`` or a row snapshot)."""

    @property
    def status(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def claim_by(self) -> datetime | None: ...
    @property
    def resolve_by(self) -> datetime | None: ...
    @property
    def warn_at(self) -> datetime | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def paused_at(self) -> datetime | None: ...
    @property
    def escalation_level(self) -> int: ...
    @property
    def claim_reminders(self) -> int: ...
    @property
    def warned(self) -> bool: ...


@dataclass(frozen=True)
class Deadlines:
    """The three moments a ticket's clock cares about (UTC)."""

    claim_by: datetime
    resolve_by: datetime
    warn_at: datetime


def add_limit(rules: Rules, start: datetime, limit: Limit, times: int = 1) -> datetime:
    """``start`` plus ``times`` × ``limit``, in working time when the limit is working time."""
    start = as_utc(start)
    if times <= 0:
        return start
    if not limit.working:
        return start + limit.amount * times
    amount: timedelta | WorkingDays = (
        WorkingDays(limit.working_days * times) if limit.working_days else limit.amount * times
    )
    return calendar_for(rules).add_working(start, amount)


def deadlines_for(rules: Rules, category: str, start: datetime) -> Deadlines:
    """Deadlines of a ticket of ``category`` opened at ``start``.

    ``warn_at`` is ``start`` plus ``defaults.warn_at`` (e.g. 0.8) of the resolve limit, counted in the
    same kind of time as the limit.
    """
    start = as_utc(start)
    claim = rules.claim_limit(category)
    resolve = rules.resolve_limit(category)
    resolve_by = add_limit(rules, start, resolve)
    fraction = rules.defaults.warn_at
    if resolve.working:
        calendar = calendar_for(rules)
        warn_at = calendar.add_working(start, calendar.working_between(start, resolve_by) * fraction)
    else:
        warn_at = start + resolve.amount * fraction
    return Deadlines(claim_by=add_limit(rules, start, claim), resolve_by=resolve_by, warn_at=warn_at)


def shift_by_pause(rules: Rules, moment: datetime, limit: Limit, paused_at: datetime, resumed_at: datetime) -> datetime:
    """Move a deadline later by the time a ticket spent paused (in working time for working limits)."""
    moment, paused_at, resumed_at = as_utc(moment), as_utc(paused_at), as_utc(resumed_at)
    if not limit.working:
        return moment + (resumed_at - paused_at)
    calendar = calendar_for(rules)
    return calendar.add_working(moment, calendar.working_between(paused_at, resumed_at))


def _opt(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def claim_reminder_at(rules: Rules, ticket: Clocked, sent: int) -> datetime | None:
    """When the reminder after ``sent`` earlier ones is due (None when no more are scheduled)."""
    claim_by, resolve_by = _opt(ticket.claim_by), _opt(ticket.resolve_by)
    if claim_by is None or sent >= MAX_CLAIM_REMINDERS:
        return None
    if sent == 0:
        return claim_by
    moment = add_limit(rules, claim_by, rules.claim_limit(ticket.category), sent)
    return moment if resolve_by is None or moment < resolve_by else None


def escalation_at(rules: Rules, ticket: Clocked, level: int) -> datetime | None:
    """When escalation step ``level`` (0-based index into ``rules.escalation``) is due."""
    resolve_by = _opt(ticket.resolve_by)
    if resolve_by is None or level >= len(rules.escalation):
        return None
    return resolve_by + rules.escalation[level].after


def auto_close_at(rules: Rules, ticket: Clocked) -> datetime | None:
    """When a resolved ticket closes itself."""
    resolved_at = _opt(ticket.resolved_at)
    return resolved_at + rules.defaults.auto_close_after if resolved_at else None


def locate_at(rules: Rules, ticket: Clocked) -> datetime:
    """When a draft whose place is still unknown goes to the district queue."""
    return as_utc(ticket.created_at) + rules.defaults.locate_within


def warning_at(ticket: Clocked) -> datetime | None:
    """When the holder is warned (None once warned, when unclaimed, or if it would come too late)."""
    warn_at, resolve_by = _opt(ticket.warn_at), _opt(ticket.resolve_by)
    if ticket.status != Status.CLAIMED or ticket.warned or warn_at is None:
        return None
    if resolve_by is not None and warn_at >= resolve_by:
        return None
    return warn_at


def next_due_at(rules: Rules, ticket: Clocked) -> datetime | None:
    """The earliest moment the sweep has something to do for ``ticket`` (None: nothing pending).

    Paused open/claimed tickets have nothing pending: their clock is stopped.
    """
    status = ticket.status
    if status == Status.DRAFT:
        return locate_at(rules, ticket)
    if status == Status.RESOLVED:
        return auto_close_at(rules, ticket)
    if status not in (Status.OPEN, Status.CLAIMED) or ticket.paused_at is not None:
        return None
    moments = [
        escalation_at(rules, ticket, ticket.escalation_level),
        warning_at(ticket),
        claim_reminder_at(rules, ticket, ticket.claim_reminders) if status == Status.OPEN else None,
    ]
    due = [m for m in moments if m is not None]
    return min(due) if due else None
