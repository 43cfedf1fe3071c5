"""Pause a ticket while it waits on the resident, and resume it: its clock stops meanwhile.

While paused (``paused_at`` set) an open or claimed ticket has nothing due: no reminder, warning or
escalation. Resuming moves ``claim_by``, ``resolve_by`` and ``warn_at`` later by the paused span
(counted in working time when the limit is working time) and recomputes ``next_due_at``. Both steps
append an event. The row is read ``FOR UPDATE``, so a concurrent sweep either acts before the pause
or sees the pause (its conditional update requires ``paused_at IS NULL``).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from cases.clock import as_utc
from cases.deadlines import next_due_at, shift_by_pause
from cases.models import Person, Status, Ticket, TicketEvent
from cases.rules.schema import Rules
from cases.services.authz import Perm, require
from cases.services.errors import InvalidInput
from cases.services.tickets.recording import locked_ticket
from cases.working_time import calendar_for

PAUSABLE = (Status.OPEN.value, Status.CLAIMED.value)


class PauseError(InvalidInput):
    """The ticket cannot be paused or resumed in its current state; ``code`` says why, for adapters to
    answer in the person's language: ``no_reason``, ``not_pausable``, ``already_paused``, ``not_paused``."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def pause(
    session: Session, *, ticket_id: int, actor: Person | None, reason: str, rules: Rules, now: datetime
) -> Ticket:
    """Stop the ticket's clock while it waits on the resident (``actor`` may add notes to it)."""
    now = as_utc(now)
    if not reason.strip():
        raise PauseError("say why the ticket waits (for example the question asked to the resident)",
                         code="no_reason")
    ticket = locked_ticket(session, ticket_id)
    if actor is not None:
        require(session, rules, actor, Perm.NOTE, ticket)
    if ticket.status not in PAUSABLE:
        raise PauseError(f"ticket #{ticket_id} is {ticket.status}; only open or claimed tickets can be paused",
                         code="not_pausable")
    if ticket.paused_at is not None:
        raise PauseError(f"ticket #{ticket_id} is already paused since {as_utc(ticket.paused_at):%Y-%m-%d %H:%M} UTC",
                         code="already_paused")
    ticket.paused_at, ticket.pause_reason = now, reason.strip()
    ticket.next_due_at = next_due_at(rules, ticket)
    ticket.updated_at = now
    session.add(ticket)
    session.add(
        TicketEvent(ticket_id=ticket_id, at=now, actor_id=actor.id if actor else None, kind="paused",
                    note=ticket.pause_reason, data={"reason": ticket.pause_reason})
    )
    session.flush()
    return ticket


def resume(session: Session, *, ticket_id: int, actor: Person | None, rules: Rules, now: datetime) -> Ticket:
    """Restart the clock: deadlines move later by the paused span. The reporter may resume too."""
    now = as_utc(now)
    ticket = locked_ticket(session, ticket_id)
    if actor is not None and actor.id != ticket.reporter_id:
        require(session, rules, actor, Perm.NOTE, ticket)
    if ticket.paused_at is None:
        raise PauseError(f"ticket #{ticket_id} is not paused", code="not_paused")
    paused_at = as_utc(ticket.paused_at)
    claim_limit, resolve_limit = rules.claim_limit(ticket.category), rules.resolve_limit(ticket.category)
    if ticket.claim_by is not None:
        ticket.claim_by = shift_by_pause(rules, ticket.claim_by, claim_limit, paused_at, now)
    if ticket.resolve_by is not None:
        ticket.resolve_by = shift_by_pause(rules, ticket.resolve_by, resolve_limit, paused_at, now)
    if ticket.warn_at is not None:
        ticket.warn_at = shift_by_pause(rules, ticket.warn_at, resolve_limit, paused_at, now)
    data: dict[str, object] = {
        "paused_seconds": int((now - paused_at).total_seconds()),
        "paused_at": paused_at.isoformat(),
        "reason": ticket.pause_reason,
    }
    if claim_limit.working or resolve_limit.working:
        data["working_seconds"] = int(calendar_for(rules).working_between(paused_at, now).total_seconds())
    ticket.paused_at, ticket.pause_reason = None, None
    ticket.next_due_at = next_due_at(rules, ticket)
    ticket.updated_at = now
    session.add(ticket)
    session.add(
        TicketEvent(ticket_id=ticket_id, at=now, actor_id=actor.id if actor else None, kind="resumed", data=data)
    )
    session.flush()
    return ticket
