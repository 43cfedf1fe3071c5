"""Which event caused a message: outbox dedupe keys name it, so a retry of the same event is one message
and a ticket's second lap (hand-back, reopen, re-claim) is a second one."""

from __future__ import annotations

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from cases.models import TicketEvent

_LATEST = select(func.max(col(TicketEvent.id))).where(col(TicketEvent.ticket_id) == bindparam("ticket_id"))


def latest_event_id(session: Session, ticket_id: int) -> int:
    """The id of the ticket's newest event (flushing pending ones first); 0 when it has none."""
    session.flush()
    return session.exec(_LATEST, params={"ticket_id": ticket_id}).one() or 0
