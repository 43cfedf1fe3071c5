"""Changing a ticket's priority by hand: routing treats a doubtful report as an emergency (recall before
precision) and staff lower it here. The change is a ``priority_changed`` event; lowering an emergency is
also kept as a labelled example (not an emergency) for retraining."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from cases.models import Person, Ticket
from cases.rules.schema import PRIORITY_RANK, Rules
from cases.services.authz import Perm, require
from cases.services.errors import InvalidInput
from cases.services.learning import record_example
from cases.services.tickets.recording import authorize, locked_ticket, record_event
from cases.states import TransitionError, is_final

__all__ = ["set_priority"]


def set_priority(session: Session, *, ticket_id: int, actor: Person, rules: Rules, priority: str,
                 now: datetime) -> Ticket:
    """Set the priority of an unfinished ticket (needs the recategorise permission on it)."""
    if priority not in PRIORITY_RANK:
        raise InvalidInput(f"unknown priority {priority!r}; use low, normal, urgent or emergency")
    ticket = locked_ticket(session, ticket_id)
    authorize(session, rules, actor, ticket)
    require(session, rules, actor, Perm.RECATEGORIZE, ticket)
    if is_final(ticket.status):
        raise TransitionError(f"cannot change the priority of ticket #{ticket.id}: it is {ticket.status}")
    if priority == ticket.priority:
        return ticket
    record_event(session, ticket, actor=actor, kind="priority_changed", now=now, public=False,
                 data={"from": ticket.priority, "to": priority})
    if ticket.priority == "emergency":
        record_example(session, ticket, category=ticket.category, emergency=False, actor=actor, now=now)
    ticket.priority, ticket.updated_at = priority, now
    session.flush()
    return ticket
