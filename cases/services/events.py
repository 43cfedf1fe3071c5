"""Which event caused a message: outbox dedupe keys name it, so a retry of the same event is one message
and a ticket's second lap (hand-back, reopen, re-claim) is a second one."""

from __future__ import annotations

from sqlalchemy import bindparam, func
from sqlmodel import Session, select

from cases.models import TicketEvent

_EVENT = TicketEvent.__table__  # type: ignore[attr-defined]
_LATEST = select(func.max(_EVENT.c.id)).where(_EVENT.c.ticket_id == bindparam("ticket_id"))


def latest_event_id(session: Session, ticket_id: int) -> int:
    """The id of the ticket's newest event (flushing pending ones first); 0 when it has none."""
    session.flush()
    return session.connection().execute(_LATEST, {"ticket_id": ticket_id}).scalar_one() or 0
