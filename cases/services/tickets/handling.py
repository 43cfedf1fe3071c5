"""Working a ticket: claimed (one conditional ``UPDATE`` so exactly one of simultaneous claimers wins),
released, transferred, reassigned, noted and resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from cases.deadlines import next_due_at
from cases.models import Person, Status, Ticket, TicketEvent
from cases.rules.schema import Rules
from cases.safe_text import without_nul
from cases.services.authz import Perm, can_work, require
from cases.services.errors import InvalidInput
from cases.services.tickets.reading import get
from cases.services.tickets.recording import (
    authorize,
    check_target,
    locked_ticket,
    move,
    person_by_id,
    record_event,
    send_to,
    unclaim,
)
from cases.states import Action, TransitionError, is_final

__all__ = ["ClaimResult", "add_note", "claim", "reassign", "release", "resolve", "transfer"]


@dataclass(frozen=True)
class ClaimResult:
    """Outcome of a claim: whether this worker won, the ticket as it now is, and who holds it."""

    won: bool
    ticket: Ticket
    holder: Person | None



def claim(session: Session, *, ticket_id: int, worker: Person, rules: Rules, now: datetime) -> ClaimResult:
    """Claim an open ticket. Atomic: of any number of simultaneous claims exactly one wins; the others
    get ``won=False`` and the holder."""
    ticket = get(session, ticket_id)
    authorize(session, rules, worker, ticket)
    require(session, rules, worker, Perm.CLAIM, ticket)
    won = (
        session.execute(
            update(Ticket)
            .where(
                col(Ticket.id) == ticket_id,
                col(Ticket.status) == Status.OPEN.value,
                col(Ticket.held).is_(False),
            )
            .values(
                status=Status.CLAIMED.value,
                claimed_by=worker.id,
                claimed_at=now,
                updated_at=now,
            )
            .returning(col(Ticket.id)),
            execution_options={"synchronize_session": False},
        ).first()
        is not None
    )
    ticket = session.exec(
        select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
    ).one()
    if won:
        ticket.next_due_at = next_due_at(rules, ticket)
        record_event(
            session,
            ticket,
            actor=worker,
            kind=Action.CLAIM.value,
            now=now,
            from_status=Status.OPEN.value,
            to_status=Status.CLAIMED.value,
        )
        session.flush()
    holder = person_by_id(session, ticket.claimed_by) if ticket.status == Status.CLAIMED else None
    return ClaimResult(won=won, ticket=ticket, holder=holder)


def release(
    session: Session, *, ticket_id: int, actor: Person, rules: Rules, reason: str | None = None, now: datetime
) -> Ticket:
    """The holder hands a ticket back to its grid or team: claimed → open, with a fresh claim limit."""
    ticket = locked_ticket(session, ticket_id)
    move(
        session,
        rules,
        actor,
        ticket,
        Action.RELEASE,
        Perm.RELEASE,
        now=now,
        note=reason,
        data={"released_by": ticket.claimed_by},
    )
    unclaim(ticket, rules, now)
    session.flush()
    return ticket


def transfer(
    session: Session,
    *,
    ticket_id: int,
    actor: Person,
    rules: Rules,
    to_target: str,
    reason: str,
    now: datetime,
) -> Ticket:
    """Send a misrouted ticket to another grid or team (open|claimed → open); a reason is required."""
    if not reason.strip():
        raise InvalidInput("say why the ticket goes elsewhere (a reason is required)")
    check_target(rules, to_target)
    ticket = locked_ticket(session, ticket_id)
    if to_target == ticket.target:
        raise InvalidInput(f"ticket #{ticket.id} is already with {to_target}")
    move(
        session,
        rules,
        actor,
        ticket,
        Action.TRANSFER,
        Perm.TRANSFER,
        now=now,
        note=reason,
        data={"from_target": ticket.target, "to_target": to_target, "released_by": ticket.claimed_by},
    )
    send_to(ticket, to_target)
    unclaim(ticket, rules, now)
    session.flush()
    return ticket


def reassign(
    session: Session,
    *,
    ticket_id: int,
    actor: Person,
    rules: Rules,
    to_worker: Person,
    reason: str | None = None,
    now: datetime,
) -> Ticket:
    """A leader gives a ticket to a worker who can handle it (open|claimed → claimed)."""
    ticket = locked_ticket(session, ticket_id)
    authorize(session, rules, actor, ticket)
    require(session, rules, actor, Perm.REASSIGN, ticket)
    if not can_work(session, rules, to_worker, ticket.target):
        raise InvalidInput(f"{to_worker.name or 'that person'} is not a worker for {ticket.target}")
    previous = ticket.claimed_by
    move(
        session,
        rules,
        actor,
        ticket,
        Action.REASSIGN,
        Perm.REASSIGN,
        now=now,
        note=reason,
        data={"from_worker": previous, "to_worker": to_worker.id},
    )
    ticket.claimed_by, ticket.claimed_at, ticket.held = to_worker.id, now, False
    ticket.next_due_at = next_due_at(rules, ticket)
    session.flush()
    return ticket


def add_note(
    session: Session,
    *,
    ticket_id: int,
    actor: Person,
    rules: Rules,
    text: str,
    public: bool = True,
    now: datetime,
) -> TicketEvent:
    """A progress note: public ones are shown to the resident, internal ones only to staff."""
    text = without_nul(text)
    if not text.strip():
        raise InvalidInput("a note cannot be empty")
    ticket = locked_ticket(session, ticket_id)
    authorize(session, rules, actor, ticket)
    require(session, rules, actor, Perm.NOTE, ticket)
    if is_final(ticket.status):
        raise TransitionError(f"cannot add a note to ticket #{ticket.id}: it is {ticket.status}")
    ticket.updated_at = now
    event = record_event(session, ticket, actor=actor, kind="note", now=now, note=text, public=public)
    session.flush()
    return event


def resolve(
    session: Session,
    *,
    ticket_id: int,
    actor: Person,
    rules: Rules,
    note: str | None = None,
    photo_file_id: str | None = None,
    now: datetime,
) -> Ticket:
    """The holder says it is done: claimed → resolved; it closes on confirmation, verification or silence."""
    ticket = locked_ticket(session, ticket_id)
    move(
        session,
        rules,
        actor,
        ticket,
        Action.RESOLVE,
        Perm.RESOLVE,
        now=now,
        note=note,
        data={"photo_file_id": photo_file_id} if photo_file_id else None,
    )
    ticket.resolved_at = now
    ticket.next_due_at = next_due_at(rules, ticket)
    session.flush()
    return ticket
