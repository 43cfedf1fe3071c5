"""One ticket filter for the console's list, its CSV/XLSX downloads and the KPI drill-down links, so a
download holds exactly the tickets the list shows (every page of them).

Area filtering is :func:`cases.services.tickets.list_tickets`'s rule (the area's grids, its teams, and at
the root the unlocated); ``overdue`` is the digest's (open or claimed, not paused, past ``resolve_by``).
Dates are local days in the rules' time zone, both ends included (``start``/``end`` on the creation time,
``closed_from``/``closed_to`` on the closing time: the KPI windows).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from cases.digest import ACTIVE, local_midnight
from cases.models import Status, Ticket
from cases.rules.schema import Rules
from cases.services.errors import InvalidInput
from cases.services.tickets import in_area

SORTS = ("new", "old", "due")
PAGE_SIZE = 50


@dataclass(frozen=True)
class TicketFilter:
    """What the list is limited to; empty fields do not filter."""

    area: str = ""
    category: str = ""
    status: str = ""
    priority: str = ""
    active: bool = False
    overdue: bool = False
    held: bool = False
    worker: int | None = None
    team: str = ""
    start: date | None = None
    end: date | None = None
    closed_from: date | None = None
    closed_to: date | None = None
    words: str = ""
    sort: str = "new"
    page: int = 1

    @classmethod
    def from_params(cls, params: dict[str, str]) -> TicketFilter:
        """Parse query parameters; InvalidInput names the first bad one."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = (params.get(f.name) or "").strip()
            if not raw:
                continue
            try:
                if f.name in ("active", "overdue", "held"):
                    values[f.name] = raw in ("1", "true", "on")
                elif f.name in ("worker", "page"):
                    values[f.name] = int(raw)
                elif f.name in ("start", "end", "closed_from", "closed_to"):
                    values[f.name] = date.fromisoformat(raw)
                else:
                    values[f.name] = raw
            except ValueError:
                raise InvalidInput(f"{f.name}: {raw!r}") from None
        made = cls(**values)
        if made.sort not in SORTS or made.page < 1:
            raise InvalidInput(f"sort/page: {made.sort!r}/{made.page}")
        return made

    def params(self, **changes: Any) -> dict[str, str]:
        """Query parameters for this filter (with ``changes``), empty fields left out."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = changes.get(f.name, getattr(self, f.name))
            if value in ("", None, False) or (f.name == "page" and value == 1) or (f.name == "sort" and value == "new"):
                continue
            out[f.name] = "1" if value is True else str(value)
        return out


def statement(rules: Rules, flt: TicketFilter, *, now: datetime) -> SelectOfScalar[Ticket]:
    """The filtered, sorted query (no paging)."""
    query = select(Ticket)
    if flt.area:
        query = query.where(in_area(rules, flt.area))
    if flt.category:
        query = query.where(col(Ticket.category) == flt.category)
    if flt.status:
        if flt.status not in {s.value for s in Status}:
            raise InvalidInput(f"status: {flt.status!r}")
        query = query.where(col(Ticket.status) == flt.status)
    if flt.priority:
        query = query.where(col(Ticket.priority) == flt.priority)
    if flt.active:
        query = query.where(col(Ticket.status).in_(ACTIVE))
    if flt.overdue:
        query = query.where(col(Ticket.status).in_(ACTIVE), col(Ticket.paused_at).is_(None),
                            col(Ticket.resolve_by) < now)
    if flt.held:
        query = query.where(col(Ticket.held).is_(True), col(Ticket.status) == Status.OPEN.value)
    if flt.worker is not None:
        query = query.where(col(Ticket.claimed_by) == flt.worker)
    if flt.team:
        query = query.where(col(Ticket.target) == f"team:{flt.team}")
    if flt.start is not None:
        query = query.where(col(Ticket.created_at) >= local_midnight(rules, flt.start))
    if flt.end is not None:
        query = query.where(col(Ticket.created_at) < local_midnight(rules, flt.end + timedelta(days=1)))
    if flt.closed_from is not None or flt.closed_to is not None:
        query = query.where(col(Ticket.status) == Status.CLOSED.value)
    if flt.closed_from is not None:
        query = query.where(col(Ticket.closed_at) >= local_midnight(rules, flt.closed_from))
    if flt.closed_to is not None:
        query = query.where(col(Ticket.closed_at) < local_midnight(rules, flt.closed_to + timedelta(days=1)))
    for word in flt.words.split():
        query = query.where(col(Ticket.text).icontains(word, autoescape=True))
    if flt.sort == "old":
        return query.order_by(col(Ticket.id))
    if flt.sort == "due":
        return query.order_by(col(Ticket.resolve_by).is_(None), col(Ticket.resolve_by), col(Ticket.id))
    return query.order_by(col(Ticket.id).desc())


def page(session: Session, rules: Rules, flt: TicketFilter, *, now: datetime) -> tuple[list[Ticket], int]:
    """One page of tickets and the total count."""
    query = statement(rules, flt, now=now)
    total = session.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
    rows = session.exec(query.limit(PAGE_SIZE).offset((flt.page - 1) * PAGE_SIZE)).all()
    return list(rows), int(total)


def batches(session: Session, rules: Rules, flt: TicketFilter, *, now: datetime, size: int = 1000) -> Any:
    """Every matching ticket, ``size`` at a time (for downloads)."""
    query = statement(rules, flt, now=now)
    offset = 0
    while True:
        rows = list(session.exec(query.limit(size).offset(offset)).all())
        if not rows:
            return
        yield rows
        offset += size
