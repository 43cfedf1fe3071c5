"""The digest's figures by index range scans, so a district digest does not read every ticket.

Each query is bounded by an indexed time window or by the active statuses, and reads only index entries
(covering indexes of migration 0007): tickets created in the 30 days, closed in them, claimed and resolved in
the 7 days, open or claimed now, and for the trend's overdue counts those done after the trend began or not
done yet. Per-day figures come back per (grid, day) and are summed here. When the day figures are kept
(:mod:`cases.figures`, the usual case) those windows and the open counts are read from them instead, and
only the overdue and the escalated tickets from the indexes. The definitions are those of
:mod:`cases.digest`; only the way of computing them differs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, literal_column, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from cases import figures as kept_figures
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
    """One grid's counts: now (open, overdue, max level, held) and for the trend's last day, its last 7 and
    all its 30 days (new and closed that day; closed, on time and reworked in the windows)."""

    open: int = 0
    overdue: int = 0
    max_level: int = 0
    held: int = 0
    new: int = 0
    closed: int = 0
    closed_7d: int = 0
    on_time_7d: int = 0
    closed_30d: int = 0
    on_time_30d: int = 0
    reworked_30d: int = 0


@dataclass
class AreaFigures:
    """The grids' figures and, per trend day (index 0..days-1), the area's new and closed; with kept figures
    also the tickets overdue at each day's end."""

    grids: dict[str | None, GridFigures]
    new: list[int]
    closed: list[int]
    overdue: list[int] | None = None


def _grid(figures: dict[str | None, GridFigures], area: str | None) -> GridFigures:
    return figures.setdefault(area or None, GridFigures())


def per_grid(session: Session, where: ColumnElement[bool], start: datetime, edges: list[datetime], now: datetime,
             *, new_from: datetime, kept: tuple[list[str] | None, list[date]] | None = None) -> AreaFigures:
    """The figures of the grids matching ``where``: now as of ``now``, and for the trend days (``edges``: the
    end of each day, the first day beginning at ``start``; new counted from ``new_from`` on: the trend's
    start, or only the last day when the trend is not wanted). With ``kept`` (the grids, None for all, and
    the trend's local days) they come from the kept figures (:mod:`cases.figures`) and a few index lookups."""
    if kept is not None:
        return _from_kept(session, where, now, *kept)
    figures: dict[str | None, GridFigures] = {}
    days = len(edges)
    # coalesce() keeps SQLite from walking the whole (area, status) index just to get the groups in order:
    # the active tickets are found through the status-led covering index instead.
    grouped = func.coalesce(T.c.area, "")
    for area, n, late, level, held in session.execute(
        select(grouped, func.count(), _sum(and_(T.c.paused_at.is_(None), T.c.resolve_by < now)),
               func.coalesce(func.max(T.c.escalation_level), 0),
               _sum(and_(T.c.held.is_(True), T.c.status == Status.OPEN.value)))
        .where(T.c.status.in_(ACTIVE), where).group_by(grouped)
    ):
        row = _grid(figures, area)
        row.open, row.overdue, row.max_level, row.held = n, late, level, held
    end = edges[-1]
    new_by_day, closed_by_day = [0] * days, [0] * days
    created = bucket(T.c.created_at, edges, strict=False)
    for area, day, n in session.execute(
        select(T.c.area, created, func.count())
        .where(T.c.created_at >= new_from, T.c.created_at < end, T.c.status != Status.MERGED.value,
               where).group_by(T.c.area, created)
    ):
        new_by_day[day] += n
        if day == days - 1:
            _grid(figures, area).new += n
    closed = bucket(T.c.closed_at, edges, strict=False)
    done = func.coalesce(T.c.resolved_at, T.c.closed_at)
    on_time = or_(T.c.resolve_by.is_(None), done <= T.c.resolve_by)
    for area, day, n, ok, rework in session.execute(
        select(T.c.area, closed, func.count(), _sum(on_time), _sum(T.c.reopen_count > 0))
        .where(T.c.closed_at >= start, T.c.closed_at < end, T.c.status == Status.CLOSED.value,
               where).group_by(T.c.area, closed)
    ):
        row = _grid(figures, area)
        closed_by_day[day] += n
        row.closed += n if day == days - 1 else 0
        if day >= days - 7:
            row.closed_7d += n
            row.on_time_7d += ok
        row.closed_30d += n
        row.on_time_30d += ok
        row.reworked_30d += rework
    return AreaFigures(figures, new_by_day, closed_by_day)


def _from_kept(session: Session, where: ColumnElement[bool], now: datetime, grids: list[str] | None,
               days: list[date]) -> AreaFigures:
    figures: dict[str | None, GridFigures] = {}
    now_rows = kept_figures.now_by_grid(session, grids)
    for area, n, held, _ in now_rows:
        row = _grid(figures, area)
        row.open, row.held = n, held
    # the overdue and the escalated are few: found through (status, resolve_by) and the partial index of the
    # escalated (its condition written out literally, so SQLite sees the query implies it)
    grouped = func.coalesce(T.c.area, "")
    for area, n in session.execute(
        select(grouped, func.count())
        .where(T.c.status.in_(ACTIVE), T.c.resolve_by < now, T.c.paused_at.is_(None), where).group_by(grouped)
    ):
        _grid(figures, area).overdue = n
    for area, level in session.execute(
        select(grouped, func.max(T.c.escalation_level))
        .where(T.c.status.in_(ACTIVE), T.c.escalation_level > literal_column("0"), where).group_by(grouped)
    ):
        _grid(figures, area).max_level = level
    for area, new, closed_n, c7, t7, c30, t30, r30 in kept_figures.window_by_grid(session, grids, days[0], days[-1]):
        row = _grid(figures, area)
        row.new, row.closed, row.closed_7d, row.on_time_7d = new, closed_n, c7, t7
        row.closed_30d, row.on_time_30d, row.reworked_30d = c30, t30, r30
    new_by_day, closed_by_day = [0] * len(days), [0] * len(days)
    late_open = sum(n for _, _, _, n in now_rows)
    change: dict[int, int] = defaultdict(int)
    for day, new, closed_n, due, done in kept_figures.by_day(session, grids, days[0]):
        i = (day - days[0]).days
        if i < len(days):
            new_by_day[i], closed_by_day[i] = new, closed_n
        change[i] += due - done
    # overdue at the end of day i: the late not done, less those due after it, plus those done after it
    overdue, later = [0] * len(days), sum(n for i, n in change.items() if i >= len(days))
    for i in range(len(days) - 1, -1, -1):
        overdue[i] = late_open - later
        later += change.get(i, 0)
    return AreaFigures(figures, new_by_day, closed_by_day, overdue)


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
