"""Is the bot doing its job? The figures an operator checks, read from the database alone (so they are
true whichever process runs the bot): the leader's lease, work waiting in the inbox and the outbox,
what could not be delivered, and the tickets that need people.

:func:`problems` turns them into plain sentences; ``gridbot status --check`` exits non-zero when there is
any, for a monitoring system to call.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import Session

from cases.clock import as_utc
from cases.db import count_rows
from cases.leader import DEFAULT_LOCK
from cases.models import InboxUpdate, JobRun, OutboxMessage, Person, SchedulerLock, Status, Ticket
from cases.ops_texts import ops_text, seconds_text

INBOX = InboxUpdate.__table__  # type: ignore[attr-defined]
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
T = Ticket.__table__  # type: ignore[attr-defined]
P = Person.__table__  # type: ignore[attr-defined]
L = SchedulerLock.__table__  # type: ignore[attr-defined]
J = JobRun.__table__  # type: ignore[attr-defined]

STUCK_AFTER = timedelta(minutes=5)
"""Work waiting longer than this (an update not handled, a due message not sent) is a problem."""
PROGRESS_WITHIN = timedelta(minutes=1)
"""Work waiting this long while nothing was handled (or sent) for as long is a problem: a stalled leader."""
RECENT = timedelta(days=1)
FAILED_MESSAGES_PER_HOUR = 5
"""More messages than this given up on for good in the last hour (blocked, chat gone, refused by Telegram) is a
problem: one resident blocking the bot is life, a run of them means something is broken."""


@dataclass
class JobState:
    """A periodic job's last run; ages in seconds."""

    name: str
    interval_seconds: float
    last_started_age: float
    last_ok_age: float | None
    last_error: str | None  # set when the last run failed
    runs: int
    failures: int


@dataclass
class Health:
    """A snapshot of the bot's state at ``now``; ages in seconds, None when nothing waits."""

    now: datetime
    leader: str | None
    leader_expires_in: float | None  # negative: the lease ran out that long ago
    inbox_waiting: int
    inbox_oldest_age: float | None
    inbox_given_up_recently: int
    outbox_waiting: int
    outbox_oldest_due_age: float | None
    outbox_failed_recently: int
    unreachable_people: int
    open_tickets: int
    overdue_tickets: int
    held_tickets: int
    jobs: list[JobState] = field(default_factory=list)
    inbox_last_processed_age: float | None = None  # since an update was last handled (None: never)
    outbox_last_sent_age: float | None = None  # since a message was last sent (None: never)
    outbox_failed_last_hour: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return asdict(self) | {"now": self.now.isoformat(), "problems": problems(self)}


def _age(now: datetime, moment: datetime | None) -> float | None:
    return None if moment is None else round((now - as_utc(moment)).total_seconds(), 1)


def check_health(session: Session, *, now: datetime) -> Health:
    """Read the figures (a handful of indexed counts; only reads)."""
    now = as_utc(now)
    lease = session.execute(select(L.c.holder, L.c.expires_at).where(L.c.name == DEFAULT_LOCK)).first()
    inbox_pending = INBOX.c.processed_at.is_(None)
    outbox_pending = and_(OUTBOX.c.sent_at.is_(None), OUTBOX.c.failed_at.is_(None))
    active = T.c.status.in_((Status.OPEN, Status.CLAIMED))
    return Health(
        now=now,
        leader=lease.holder if lease else None,
        leader_expires_in=round((as_utc(lease.expires_at) - now).total_seconds(), 1) if lease else None,
        inbox_waiting=count_rows(session, INBOX, inbox_pending),
        inbox_oldest_age=_age(now, session.execute(
            select(func.min(INBOX.c.received_at)).where(inbox_pending)).scalar()),
        inbox_given_up_recently=count_rows(session, INBOX, INBOX.c.error.is_not(None),
                                       INBOX.c.processed_at >= now - RECENT),
        outbox_waiting=count_rows(session, OUTBOX, outbox_pending),
        outbox_oldest_due_age=_age(now, session.execute(
            select(func.min(OUTBOX.c.not_before)).where(outbox_pending, OUTBOX.c.not_before <= now)).scalar()),
        outbox_failed_recently=count_rows(session, OUTBOX, OUTBOX.c.sent_at.is_(None),
                                          OUTBOX.c.failed_at >= now - RECENT),
        unreachable_people=count_rows(session, P, P.c.unreachable.is_(True)),
        open_tickets=count_rows(session, T, active),
        overdue_tickets=count_rows(session, T, active, T.c.paused_at.is_(None), T.c.resolve_by < now),
        held_tickets=count_rows(session, T, T.c.held.is_(True), T.c.status.in_((Status.OPEN, Status.DRAFT))),
        jobs=[JobState(row.name, row.interval_seconds, _age(now, row.last_started_at) or 0.0,
                       _age(now, row.last_ok_at), row.last_error, row.runs, row.failures)
              for row in session.execute(select(J).order_by(J.c.name))],
        inbox_last_processed_age=_age(now, session.execute(select(func.max(INBOX.c.processed_at))).scalar()),
        outbox_last_sent_age=_age(now, session.execute(select(func.max(OUTBOX.c.sent_at))).scalar()),
        outbox_failed_last_hour=count_rows(session, OUTBOX, OUTBOX.c.sent_at.is_(None),
                                           OUTBOX.c.failed_at >= now - timedelta(hours=1)),
    )


def _stalled(waiting_age: float | None, last_done_age: float | None, within: timedelta) -> bool:
    """Work waited longer than ``within`` and none was done for as long: the loop doing it has stopped."""
    seconds = within.total_seconds()
    return (waiting_age or 0) > seconds and (last_done_age is None or last_done_age > seconds)


def problems(health: Health, *, stuck_after: timedelta = STUCK_AFTER, lang: str = "en") -> list[str]:
    """What an operator must look at now, in words of ``lang`` (empty when all is well)."""
    found: list[str] = []

    def say(key: str, **values: object) -> None:
        found.append(ops_text(key, lang, **values))

    def age(seconds: float | None) -> str:
        return seconds_text(seconds or 0, lang)

    if health.leader is None:
        say("health_no_leader")
    elif health.leader_expires_in is not None and health.leader_expires_in < 0:
        say("health_lease_out", leader=health.leader, ago=age(-health.leader_expires_in))
    limit = stuck_after.total_seconds()
    within = age(PROGRESS_WITHIN.total_seconds())
    if _stalled(health.inbox_oldest_age, health.inbox_last_processed_age, PROGRESS_WITHIN):
        say("health_inbox_stalled", waiting=health.inbox_waiting, oldest=age(health.inbox_oldest_age), within=within)
    elif health.inbox_oldest_age is not None and health.inbox_oldest_age > limit:
        say("health_inbox_slow", waiting=health.inbox_waiting, oldest=age(health.inbox_oldest_age))
    if _stalled(health.outbox_oldest_due_age, health.outbox_last_sent_age, PROGRESS_WITHIN):
        say("health_outbox_stalled", waiting=health.outbox_waiting, oldest=age(health.outbox_oldest_due_age),
            within=within)
    elif health.outbox_oldest_due_age is not None and health.outbox_oldest_due_age > limit:
        say("health_outbox_slow", waiting=health.outbox_waiting, oldest=age(health.outbox_oldest_due_age))
    leader_alive = health.leader_expires_in is not None and health.leader_expires_in >= 0
    for job in health.jobs:
        if job.last_error is not None:
            say("health_job_failed", job=job.name, error=job.last_error)
        late = max(3 * job.interval_seconds, limit)
        since_ok = job.last_ok_age if job.last_ok_age is not None else job.last_started_age
        if leader_alive and job.last_error is None and since_ok > late:
            say("health_job_late", job=job.name, since=age(since_ok), every=age(job.interval_seconds))
    if health.outbox_failed_last_hour > FAILED_MESSAGES_PER_HOUR:
        say("health_outbox_given_up", count=health.outbox_failed_last_hour, limit=FAILED_MESSAGES_PER_HOUR)
    if health.inbox_given_up_recently:
        say("health_inbox_given_up", count=health.inbox_given_up_recently)
    return found
