"""The digest's figures by index range scans, so a district digest does not read every ticket.

Each query is bounded by an indexed time window or by the active statuses, and reads only index entries
(covering indexes of migration 0007): tickets created in the 30 days, closed in them, claimed and resolved in
the 7 days, open or claimed now, and for the trend's overdue counts those done after the trend began or not
done yet. Per-day figures come back per (grid, day) and are summed here. The definitions are those of
:mod:`cases.digest`; only the way of computing them differs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from cases.models import Status
from cases.models import Ticket as TicketModel

T = TicketModel.__table__  # type: ignore[attr-defined]
ACTIVE: tuple[str, ...] = (Status.OPEN, Status.CLAIMED)


def bucket(column: Any, edges: list[datetime], *, strict: bool) -> Any:
    """How many ``edges`` are <= ``column`` (``strict``: < ``column``); NULL counts as all of them."""
    whens = [((column <= e) if strict else (column < e), i) for i, e in enumerate(edges)]
    return case(*whens, else_=len(edges))


def _sum(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass
class GridFigures:
    """One grid's counts: ``new``/``closed``/``on_time``/``reworked`` per trend day (index 0..days-1)."""

    open: int = 0
    overdue: int = 0
    max_level: int = 0
    held: int = 0
    new: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    closed: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    on_time: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    reworked: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def per_grid(session: Session, where: ColumnElement[bool], start: datetime, edges: list[datetime], now: datetime,
             *, new_from: datetime) -> dict[str | None, GridFigures]:
    """Per grid: open/overdue/max level now, and per trend day (``edges``: the end of each day, the first day
    beginning at ``start``) closed, closed on time, reworked, and new (counted from ``new_from`` on: the
    trend's start, or only the last day when the trend is not wanted)."""
    end = edges[-1]
    figures: dict[str | None, GridFigures] = defaultdict(GridFigures)
    # coalesce() keeps SQLite from walking the whole (area, status) index just to get the groups in order:
    # the active tickets are found through the status-led covering index instead.
    grouped = func.coalesce(T.c.area, "")
    for area, n, late, level, held in session.execute(
        select(grouped, func.count(), _sum(and_(T.c.paused_at.is_(None), T.c.resolve_by < now)),
               func.coalesce(func.max(T.c.escalation_level), 0),
               _sum(and_(T.c.held.is_(True), T.c.status == Status.OPEN.value)))
        .where(T.c.status.in_(ACTIVE), where).group_by(grouped)
    ):
        row = figures[area or None]
        row.open, row.overdue, row.max_level, row.held = n, late, level, held
    created = bucket(T.c.created_at, edges, strict=False)
    for area, day, n in session.execute(
        select(T.c.area, created, func.count())
        .where(T.c.created_at >= new_from, T.c.created_at < end, T.c.status != Status.MERGED.value,
               where).group_by(T.c.area, created)
    ):
        figures[area].new[day] += n
    closed = bucket(T.c.closed_at, edges, strict=False)
    done = func.coalesce(T.c.resolved_at, T.c.closed_at)
    on_time = or_(T.c.resolve_by.is_(None), done <= T.c.resolve_by)
    for area, day, n, ok, rework in session.execute(
        select(T.c.area, closed, func.count(), _sum(on_time), _sum(T.c.reopen_count > 0))
        .where(T.c.closed_at >= start, T.c.closed_at < end, T.c.status == Status.CLOSED.value,
               where).group_by(T.c.area, closed)
    ):
        row = figures[area]
        row.closed[day] += n
        row.on_time[day] += ok
        row.reworked[day] += rework
    return figures


def trend_overdue(session: Session, where: ColumnElement[bool], edges: list[datetime],
                  counted: ColumnElement[bool]) -> list[int]:
    """Tickets overdue at the end of each trend day: past ``resolve_by`` at that edge and not done by it.

    Three disjoint index scans: resolved after the first edge; never resolved but closed after it; neither
    (still open, counted unless paused now)."""
    days, first_end, end = len(edges), edges[0], edges[-1]
    lo = bucket(T.c.resolve_by, edges, strict=False)
    parts: list[tuple[ColumnElement[bool], Any]] = [
        (T.c.resolved_at > first_end, bucket(T.c.resolved_at, edges, strict=True)),
        (and_(T.c.resolved_at.is_(None), T.c.closed_at > first_end), bucket(T.c.closed_at, edges, strict=True)),
        (and_(T.c.status.in_(ACTIVE), T.c.resolved_at.is_(None), T.c.closed_at.is_(None)), literal(days)),
    ]
    counts = [0] * days
    for condition, hi in parts:
        for low, high, n in session.execute(
            select(lo, hi, func.count()).where(where, counted, condition, T.c.resolve_by < end).group_by(lo, hi)
        ):
            for i in range(max(low, 0), min(high, days)):
                counts[i] += n
    return counts


def quantiles(session: Session, expr: Any, condition: ColumnElement[bool], qs: tuple[float, ...]
              ) -> list[float | None]:
    """The ``qs`` quantiles (0..1, interpolated like percentile_cont) of ``expr`` over the rows matching
    ``condition``, in one query (PostgreSQL: percentile_cont over an array; SQLite: the window's values,
    a few thousand, sorted here)."""
    if session.get_bind().dialect.name == "postgresql":
        values = session.execute(
            select(func.percentile_cont(postgresql.array(qs)).within_group(expr)).select_from(T).where(condition)
        ).scalar()
        return [float(v) for v in values] if values else [None] * len(qs)
    found = sorted(float(v) for v in session.execute(select(expr).select_from(T).where(condition)).scalars())
    if not found:
        return [None] * len(qs)
    out: list[float | None] = []
    for q in qs:
        position = q * (len(found) - 1)
        low = int(position)
        high = min(low + 1, len(found) - 1)
        out.append(found[low] + (found[high] - found[low]) * (position - low))
    return out
