"""A resident's flood: reports beyond ``defaults.reports_per_hour`` are held for a leader's review. One hold
lasts while held reports keep coming (each within an hour of the previous one); leaders are told once per
hold, and what they were told is kept up to date with the count (see ``bot.dispatching.hold_for_review``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from cases.clock import as_utc
from cases.models import FloodHold, Ticket

HOLD_GAP = timedelta(hours=1)
"""A held report more than this after the hold's previous one starts a new hold."""

_HELD = (
    select(Ticket.id)
    .where(col(Ticket.reporter_id) == bindparam("reporter"), col(Ticket.id) >= bindparam("anchor"),
           col(Ticket.held).is_(True))
    .order_by(col(Ticket.id))
)


@dataclass(frozen=True)
class Hold:
    """The hold a held ticket belongs to: its first ticket, how many were held in it, whether it is new."""

    anchor_ticket_id: int
    count: int
    new: bool


def note_held(session: Session, *, reporter_id: int, ticket_id: int, now: datetime) -> Hold:
    """Count ``ticket_id`` (just held) into the reporter's current hold, or start a new hold with it."""
    hold = session.get(FloodHold, reporter_id, with_for_update=True)
    if hold is not None and now - as_utc(hold.updated_at) <= HOLD_GAP and hold.anchor_ticket_id <= ticket_id:
        hold.count += 1
        hold.updated_at = now
        new = False
    else:
        if hold is None:
            hold = FloodHold(reporter_id=reporter_id, anchor_ticket_id=ticket_id, count=1, started_at=now,
                             updated_at=now)
        else:
            hold.anchor_ticket_id, hold.count, hold.started_at, hold.updated_at = ticket_id, 1, now, now
        new = True
    session.add(hold)
    session.flush()
    return Hold(hold.anchor_ticket_id, hold.count, new)


def still_held(session: Session, *, reporter_id: int, anchor_ticket_id: int, limit: int = 30) -> list[int]:
    """The hold's tickets still waiting for review, oldest first (at most ``limit``)."""
    rows = session.exec(_HELD.limit(limit), params={"reporter": reporter_id, "anchor": anchor_ticket_id})
    return [int(i) for i in rows.all() if i is not None]
