"""Correcting a ticket without moving it: the resident's edited text, and staff's category, priority and
target (kept as a labelled routing example).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from cases.clock import as_utc
from cases.deadlines import deadlines_for, next_due_at
from cases.models import Person, Status, Ticket
from cases.rules.schema import Rules
from cases.safe_text import without_nul
from cases.services.authz import Perm, require
from cases.services.errors import InvalidInput, PermissionDenied
from cases.services.learning import record_example
from cases.services.tickets.recording import authorize, check_target, locked_ticket, record_event, send_to
from cases.states import TransitionError, is_final

__all__ = ["amend_text", "recategorize"]


def amend_text(
    session: Session, *, ticket_id: int, actor: Person, rules: Rules, new_text: str, now: datetime
) -> Ticket:
    """The resident edited the message the ticket came from: keep the new text, the old one in the event."""
    new_text = without_nul(new_text)
    ticket = locked_ticket(session, ticket_id)
    authorize(session, rules, actor, ticket)
    if ticket.reporter_id != actor.id:
        raise PermissionDenied("only the resident who reported it can change its text")
    require(session, rules, actor, Perm.AMEND, ticket)
    if new_text == ticket.text:
        return ticket
    record_event(
        session, ticket, actor=actor, kind="edited", now=now, note=new_text, data={"old_text": ticket.text}
    )
    ticket.text, ticket.updated_at = new_text, now
    session.flush()
    return ticket


def recategorize(
    session: Session,
    *,
    ticket_id: int,
    actor: Person,
    rules: Rules,
    category: str,
    priority: str,
    target: str | None = None,
    route_index: int | None = None,
    explanation: dict[str, Any] | None = None,
    now: datetime,
) -> Ticket:
    """Correct the category and priority (optionally the target); deadlines follow the new category. The
    correction is kept as a labelled routing example (see :mod:`cases.services.learning`)."""
    if category not in rules.categories:
        raise InvalidInput(f"unknown category {category!r}")
    if target is not None:
        check_target(rules, target)
    ticket = locked_ticket(session, ticket_id)
    authorize(session, rules, actor, ticket)
    require(session, rules, actor, Perm.RECATEGORIZE, ticket)
    if is_final(ticket.status):
        raise TransitionError(f"cannot recategorize ticket #{ticket.id}: it is {ticket.status}")
    record_event(
        session,
        ticket,
        actor=actor,
        kind="recategorized",
        now=now,
        public=False,
        data={
            "from": {"category": ticket.category, "priority": ticket.priority, "target": ticket.target},
            "to": {"category": category, "priority": priority, "target": target or ticket.target},
        },
    )
    record_example(session, ticket, category=category, emergency=priority == "emergency", actor=actor, now=now)
    ticket.category, ticket.priority, ticket.updated_at = category, priority, now
    if target is not None and target != ticket.target:
        send_to(ticket, target)
    if route_index is not None:
        ticket.route_index = route_index
    if explanation is not None:
        ticket.explanation = explanation
    if ticket.status in (Status.OPEN, Status.CLAIMED) and ticket.opened_at is not None:
        deadlines = deadlines_for(rules, category, as_utc(ticket.opened_at))
        ticket.claim_by, ticket.resolve_by, ticket.warn_at = (
            deadlines.claim_by,
            deadlines.resolve_by,
            deadlines.warn_at,
        )
        ticket.next_due_at = next_due_at(rules, ticket)
    session.flush()
    return ticket
