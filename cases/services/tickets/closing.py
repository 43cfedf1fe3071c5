"""Ending a ticket's life, or not: confirmed, verified or closed by silence, reopened, rated, cancelled,
or merged into another ticket still being handled (both rows locked in id order).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from cases.deadlines import next_due_at
from cases.models import Person, Ticket
from cases.rules.schema import Rules
from cases.services.authz import Perm, require
from cases.services.errors import InvalidInput, PermissionDenied
from cases.services.tickets.reading import get
from cases.services.tickets.recording import authorize, locked_ticket, move, record_event, set_deadlines
from cases.states import Action, check_merge

__all__ = ["auto_close", "cancel", "confirm", "merge", "rate", "reopen", "verify"]


def _close(
    session: Session,
    *,
    ticket_id: int,
    actor: Person | None,
    rules: Rules,
    action: Action,
    perm: Perm,
    note: str | None,
    now: datetime,
) -> Ticket:
    ticket = locked_ticket(session, ticket_id)
    move(session, rules, actor, ticket, action, perm, now=now, note=note)
    ticket.closed_at, ticket.next_due_at = now, None
    session.flush()
    return ticket


def confirm(session: Session, *, ticket_id: int, actor: Person, rules: Rules, now: datetime) -> Ticket:
    """The resident confirms the fix: resolved → closed."""
    return _close(
        session,
        ticket_id=ticket_id,
        actor=actor,
        rules=rules,
        action=Action.CONFIRM,
        perm=Perm.CONFIRM,
        note=None,
        now=now,
    )


def verify(
    session: Session, *, ticket_id: int, actor: Person, rules: Rules, note: str | None = None, now: datetime
) -> Ticket:
    """A leader or supervisor verifies the fix: resolved → closed."""
    return _close(
        session,
        ticket_id=ticket_id,
        actor=actor,
        rules=rules,
        action=Action.VERIFY,
        perm=Perm.VERIFY,
        note=note,
        now=now,
    )


def auto_close(session: Session, *, ticket_id: int, rules: Rules, now: datetime) -> Ticket:
    """Nobody objected in time: resolved → closed by the system (no actor)."""
    return _close(
        session,
        ticket_id=ticket_id,
        actor=None,
        rules=rules,
        action=Action.AUTO_CLOSE,
        perm=Perm.VERIFY,
        note=None,
        now=now,
    )


def reopen(
    session: Session, *, ticket_id: int, actor: Person, rules: Rules, reason: str | None = None, now: datetime
) -> Ticket:
    """Not fixed after all: resolved → open, counted as rework, with fresh deadlines."""
    ticket = locked_ticket(session, ticket_id)
    move(
        session,
        rules,
        actor,
        ticket,
        Action.REOPEN,
        Perm.REOPEN,
        now=now,
        note=reason,
        data={"previous_holder": ticket.claimed_by, "reopen_count": ticket.reopen_count + 1},
    )
    ticket.reopen_count += 1
    ticket.claimed_by = ticket.claimed_at = ticket.resolved_at = None
    set_deadlines(ticket, rules, now)
    ticket.next_due_at = next_due_at(rules, ticket)
    session.flush()
    return ticket


def rate(
    session: Session, *, ticket_id: int, actor: Person, rules: Rules, stars: int, now: datetime
) -> Ticket:
    """The reporter rates the service 1–5, once, after the ticket is resolved."""
    if not 1 <= stars <= 5:
        raise InvalidInput(f"a rating is 1 to 5 stars, got {stars}")
    ticket = locked_ticket(session, ticket_id)
    authorize(session, rules, actor, ticket)
    if ticket.reporter_id != actor.id:
        raise PermissionDenied("only the resident who reported it can rate a ticket")
    require(session, rules, actor, Perm.RATE, ticket)
    rated = session.execute(
        update(Ticket)
        .where(col(Ticket.id) == ticket_id, col(Ticket.rating).is_(None))
        .values(rating=stars, updated_at=now)
        .returning(col(Ticket.id)),
        execution_options={"synchronize_session": False},
    ).first()
    if rated is None:
        raise InvalidInput(f"ticket #{ticket_id} has already been rated")
    session.refresh(ticket)
    record_event(session, ticket, actor=actor, kind="rated", now=now, data={"stars": stars})
    session.flush()
    return ticket


def cancel(
    session: Session, *, ticket_id: int, actor: Person, rules: Rules, reason: str | None = None, now: datetime
) -> Ticket:
    """Withdraw a report: the resident before it is claimed; a leader or supervisor any time, with reason."""
    ticket = locked_ticket(session, ticket_id)
    authorize(session, rules, actor, ticket)
    if ticket.reporter_id != actor.id and not (reason or "").strip():
        raise InvalidInput("staff must give a reason to cancel a ticket")
    move(session, rules, actor, ticket, Action.CANCEL, Perm.CANCEL, now=now, note=reason)
    ticket.closed_at, ticket.next_due_at = now, None
    session.flush()
    return ticket


def merge(
    session: Session,
    *,
    ticket_id: int,
    into_id: int,
    actor: Person,
    rules: Rules,
    reason: str | None = None,
    now: datetime,
) -> Ticket:
    """Merge a duplicate into another ticket still being handled; both histories record it."""
    if into_id == ticket_id:
        check_merge(ticket_id, into_id, get(session, ticket_id).status)
    # Lock both rows in id order so two crossing merges cannot deadlock.
    first, second = sorted((ticket_id, into_id))
    locked = {first: locked_ticket(session, first), second: locked_ticket(session, second)}
    ticket, into = locked[ticket_id], locked[into_id]
    authorize(session, rules, actor, ticket)
    authorize(session, rules, actor, into)
    check_merge(ticket_id, into_id, into.status)
    move(
        session, rules, actor, ticket, Action.MERGE, Perm.MERGE, now=now, note=reason, data={"into": into_id}
    )
    ticket.merged_into, ticket.closed_at, ticket.next_due_at = into_id, now, None
    record_event(session, into, actor=actor, kind="merged_in", now=now, note=reason, data={"from": ticket_id})
    into.updated_at = now
    session.flush()
    return ticket
