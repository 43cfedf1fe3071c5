"""The digest as computed before migration 0007 (one pass over every ticket): the reference the fast
index-range version in :mod:`cases.digest_figures` is checked against."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from cases.clock import as_utc
from cases.db import count_rows
from cases.digest import (
    ACTIVE,
    MAX_LISTED,
    TREND_DAYS,
    Digest,
    GridRow,
    T,
    TrendPoint,
    _area_filter,
    _rate,
    _seconds,
    local_midnight,
    rag_status,
)
from cases.holiday_calendar import missing_years
from cases.models import Status
from cases.rules.schema import Rules


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)



def _median(session: Session, expr: Any, condition: ColumnElement[bool]) -> float | None:
    """Median of ``expr`` over the rows matching ``condition`` (percentile_cont on PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.execute(
            select(func.percentile_cont(0.5).within_group(expr)).select_from(T).where(condition)
        ).scalar()
        return float(value) if value is not None else None
    n = count_rows(session, T, condition)
    if not n:
        return None
    middle = session.execute(
        select(expr).select_from(T).where(condition).order_by(expr).limit(2 - n % 2).offset((n - 1) // 2)
    ).scalars().all()
    return float(sum(middle) / len(middle))


def _bucket(column: Any, edges: list[datetime], *, strict: bool) -> Any:
    """How many ``edges`` are <= ``column`` (``strict``: < ``column``); NULL counts as all of them."""
    whens = [((column <= e) if strict else (column < e), i) for i, e in enumerate(edges)]
    return case(*whens, else_=len(edges))



def reference_digest(
    session: Session, *, rules: Rules, area: str, day: date, now: datetime, max_listed: int = MAX_LISTED
) -> Digest:
    """The digest of ``area`` (any level of the tree) for local ``day``, overdue figures as of ``now``."""
    if area not in rules.areas:
        raise ValueError(f"unknown area {area!r}")
    now = as_utc(now)
    day_start, day_end = local_midnight(rules, day), local_midnight(rules, day + timedelta(days=1))
    start_7 = local_midnight(rules, day - timedelta(days=6))
    start_30 = local_midnight(rules, day - timedelta(days=TREND_DAYS - 1))
    where = _area_filter(rules, area)
    active = T.c.status.in_(ACTIVE)
    overdue = and_(active, T.c.paused_at.is_(None), T.c.resolve_by < now)
    closed = T.c.status == Status.CLOSED.value
    done = func.coalesce(T.c.resolved_at, T.c.closed_at)
    on_time = or_(T.c.resolve_by.is_(None), done <= T.c.resolve_by)

    def closed_in(start: datetime) -> ColumnElement[bool]:
        return and_(closed, T.c.closed_at >= start, T.c.closed_at < day_end)

    per_grid = session.execute(
        select(
            T.c.area,
            _count(and_(T.c.created_at >= day_start, T.c.created_at < day_end, T.c.status != Status.MERGED.value)),
            _count(closed_in(day_start)),
            _count(active),
            _count(overdue),
            func.coalesce(func.max(case((active, T.c.escalation_level), else_=0)), 0),
            _count(closed_in(start_7)),
            _count(and_(closed_in(start_7), on_time)),
            _count(closed_in(start_30)),
            _count(and_(closed_in(start_30), on_time)),
            _count(and_(closed_in(start_30), T.c.reopen_count > 0)),
        ).where(where).group_by(T.c.area)
    ).all()
    rows = {grid: GridRow(grid) for grid in rules.grids_within(area)}
    digest = Digest(area=area, kind=rules.areas[area].kind, day=day, generated_at=now)
    for grid, new, closed_n, open_n, overdue_n, level, c7, t7, c30, t30, rework in per_grid:
        digest.new += new
        digest.closed += closed_n
        digest.open += open_n
        digest.overdue += overdue_n
        digest.max_level = max(digest.max_level, level)
        digest.closed_7d += c7
        digest.on_time_7d += t7
        digest.closed_30d += c30
        digest.on_time_30d += t30
        digest.reworked_30d += rework
        if grid in rows:
            row = rows[grid]
            row.new, row.closed, row.open, row.overdue, row.max_level = new, closed_n, open_n, overdue_n, level
            row.closed_30d, row.on_time_30d = c30, t30
    for row in rows.values():
        row.on_time_rate_30d = _rate(row.on_time_30d, row.closed_30d)
        row.status = rag_status(max_level=row.max_level, overdue=row.overdue, on_time_rate=row.on_time_rate_30d)
    digest.grids = list(rows.values())
    digest.on_time_rate_7d = _rate(digest.on_time_7d, digest.closed_7d)
    digest.on_time_rate_30d = _rate(digest.on_time_30d, digest.closed_30d)
    digest.rework_rate_30d = _rate(digest.reworked_30d, digest.closed_30d)
    digest.status = rag_status(max_level=digest.max_level, overdue=digest.overdue,
                               on_time_rate=digest.on_time_rate_30d)
    opened = func.coalesce(T.c.opened_at, T.c.created_at)
    digest.median_claim_seconds = _median(
        session, _seconds(session, T.c.claimed_at, opened),
        and_(where, T.c.claimed_at >= start_7, T.c.claimed_at < day_end),
    )
    digest.median_resolve_seconds = _median(
        session, _seconds(session, T.c.resolved_at, opened),
        and_(where, T.c.resolved_at >= start_7, T.c.resolved_at < day_end),
    )
    digest.trend = _trend(session, rules, where, day, start_30)
    if digest.kind == "district":  # the district office keeps the rules file
        digest.holidays_missing = missing_years(rules, day)
    return digest



def _trend(session: Session, rules: Rules, where: ColumnElement[bool], day: date, start: datetime) -> list[TrendPoint]:
    days = [day - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    edges = [local_midnight(rules, d + timedelta(days=1)) for d in days]
    points = [TrendPoint(d) for d in days]
    end = edges[-1]
    created_bucket = _bucket(T.c.created_at, edges, strict=False)
    for bucket, count in session.execute(
        select(created_bucket, func.count()).where(
            where, T.c.created_at >= start, T.c.created_at < end, T.c.status != Status.MERGED.value
        ).group_by(created_bucket)
    ):
        points[bucket].new = count
    closed_bucket = _bucket(T.c.closed_at, edges, strict=False)
    for bucket, count in session.execute(
        select(closed_bucket, func.count()).where(
            where, T.c.status == Status.CLOSED.value, T.c.closed_at >= start, T.c.closed_at < end
        ).group_by(closed_bucket)
    ):
        points[bucket].closed = count
    # Overdue at the end of day i: resolve_by < edge_i and not yet done at edge_i, i.e. lo <= i < hi.
    done = func.coalesce(T.c.resolved_at, T.c.closed_at)
    lo = _bucket(T.c.resolve_by, edges, strict=False)
    hi = case((done.is_(None), literal(TREND_DAYS)), else_=_bucket(done, edges, strict=True))
    counted = and_(
        where,
        T.c.status.not_in((Status.DRAFT, Status.CANCELLED, Status.MERGED)),
        not_(and_(T.c.status.in_(ACTIVE), T.c.paused_at.is_not(None))),
        T.c.resolve_by < end,
        or_(done.is_(None), done > edges[0]),
    )
    for low, high, count in session.execute(select(lo, hi, func.count()).where(counted).group_by(lo, hi)):
        for i in range(max(low, 0), min(high, TREND_DAYS)):
            points[i].overdue += count
    return points


