"""Reading tickets: one by number or by the message it came from, an earlier report of the same problem,
a ticket's history, and the filtered lists every adapter shows. Nothing here locks or changes a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, literal_column, or_
from sqlmodel import Session, col, select

from cases.clock import as_utc
from cases.db import core_connection
from cases.models import Status, Ticket, TicketEvent
from cases.rules.schema import Rules
from cases.services.authz import target_in_scope
from cases.services.errors import InvalidInput, NotFound

__all__ = [
    "DUPLICATE_WINDOW",
    "Earlier",
    "find_by_message",
    "get",
    "history",
    "in_area",
    "list_tickets",
    "possible_duplicate",
]


def get(session: Session, ticket_id: int) -> Ticket:
    """The ticket with this number; NotFound otherwise."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"there is no ticket #{ticket_id}")
    return ticket


_BY_MESSAGE = select(Ticket).where(col(Ticket.chat_id) == bindparam("chat_id"),
                                   col(Ticket.source_message_id) == bindparam("message_id"))


def find_by_message(session: Session, *, chat_id: int, message_id: int) -> Ticket | None:
    """The ticket opened from this chat message, if any."""
    return session.exec(_BY_MESSAGE, params={"chat_id": chat_id, "message_id": message_id}).first()


DUPLICATE_WINDOW = timedelta(hours=48)
"""How far back an earlier report of the same kind in the same grid counts as a possible duplicate."""
_STILL_HANDLED = (Status.OPEN.value, Status.CLAIMED.value)
_T = Ticket.__table__  # type: ignore[attr-defined]
_STILL_HANDLED_SQL: list[ColumnElement[Any]] = [literal_column(f"'{status}'") for status in _STILL_HANDLED]
"""The statuses as SQL literals (constant identifiers): ``IN ('open', 'claimed')`` is part of the statement,
not a list parameter SQLAlchemy would expand into the SQL text again on every execution."""
_SAME_PROBLEM = (
    select(_T.c.id, _T.c.created_at)
    .where(_T.c.area == bindparam("area"), _T.c.status.in_(_STILL_HANDLED_SQL), _T.c.category == bindparam("category"),
           _T.c.id != bindparam("id"), _T.c.created_at >= bindparam("since"), _T.c.created_at <= bindparam("until"))
    .order_by(_T.c.id.desc())
    .limit(1)
)


@dataclass(frozen=True)
class Earlier:
    """An earlier ticket that may report the same problem: what the new-ticket card names."""

    id: int
    created_at: datetime

    @property
    def number(self) -> str:
        """The human-readable ticket number, e.g. ``#1024``."""
        return f"#{self.id}"


def possible_duplicate(session: Session, ticket: Ticket, *, window: timedelta = DUPLICATE_WINDOW) -> Earlier | None:
    """The latest ticket still being handled in the same grid with the same category, opened at most
    ``window`` before ``ticket``: a hint for the workers and leaders, who decide whether to merge. Reports
    of the fallback category ``other`` are too varied to compare. Two columns, no ORM object: this runs
    for every new report."""
    if ticket.area is None or ticket.category == "other" or ticket.id is None:
        return None
    created = as_utc(ticket.created_at)
    row = core_connection(session).execute(_SAME_PROBLEM, {
        "area": ticket.area, "category": ticket.category, "id": ticket.id, "since": created - window,
        "until": created,
    }).first()
    return None if row is None else Earlier(int(row[0]), row[1])


def history(session: Session, ticket_id: int, *, public_only: bool = False) -> list[TicketEvent]:
    """A ticket's events, oldest first (``public_only`` hides internal notes, for residents)."""
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    if public_only:
        query = query.where(col(TicketEvent.public).is_(True))
    return list(session.exec(query.order_by(col(TicketEvent.at), col(TicketEvent.id))).all())


def in_area(rules: Rules, area: str) -> Any:
    """The tickets of ``area`` (an area id of the rules): placed in one of its grids, routed to one of its grids
    or to a team answering to it, and, for the district, the ones with no place yet. The one definition of an
    area's tickets for lists, filters and exports in every adapter."""
    if area not in rules.areas:
        raise InvalidInput(f"unknown area {area!r}")
    grids = rules.grids_within(area)
    teams = [f"team:{t}" for t in rules.teams if target_in_scope(rules, f"team:{t}", area)]
    conditions = [col(Ticket.area).in_(grids), col(Ticket.target).in_([f"grid:{g}" for g in grids])]
    if teams:
        conditions.append(col(Ticket.target).in_(teams))
    if area == rules.root:
        conditions.append(col(Ticket.area).is_(None))
    return or_(*conditions)

def list_tickets(
    session: Session,
    *,
    rules: Rules,
    status: str | Sequence[str] | None = None,
    scope: str | None = None,
    reporter_id: int | None = None,
    claimed_by: int | None = None,
    words: Sequence[str] = (),
    limit: int = 50,
    newest_first: bool = False,
    after_id: int | None = None,
) -> list[Ticket]:
    """Tickets filtered by status(es), scope (an area id: its grids, or ``team:<id>``), reporter, holder,
    and ``words`` the report must all contain (any case; ``%`` and ``_`` are taken literally).
    ``after_id`` pages through them oldest first: only tickets numbered above it."""
    if after_id is not None and newest_first:
        raise ValueError("after_id pages oldest first")
    query = select(Ticket)
    if after_id is not None:
        query = query.where(col(Ticket.id) > after_id)
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        query = query.where(col(Ticket.status).in_(statuses))
    if scope is not None:
        query = query.where(col(Ticket.target) == scope if scope.startswith("team:") else in_area(rules, scope))
    if reporter_id is not None:
        query = query.where(Ticket.reporter_id == reporter_id)
    if claimed_by is not None:
        query = query.where(Ticket.claimed_by == claimed_by)
    for word in words:
        query = query.where(col(Ticket.text).icontains(word, autoescape=True))
    order = col(Ticket.id).desc() if newest_first else col(Ticket.id)
    return list(session.exec(query.order_by(order).limit(limit)).all())
