"""The console's worker league and satisfaction as computed before the kept figures (one scan of the
tickets closed in the window): the reference :func:`cases.kpi.closed_by_worker` is checked against."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from cases.digest import TREND_DAYS, local_midnight
from cases.models import Status
from cases.models import Ticket as TicketModel
from cases.rules.schema import Rules

T = TicketModel.__table__  # type: ignore[attr-defined]


def _sum(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def reference_by_worker(session: Session, rules: Rules, area: str, day: date) -> dict[int, tuple[int, ...]]:
    """worker (0: nobody) -> (closed, on time, rated, rated 4 or 5) for the 30 days ending with ``day``."""
    start = local_midnight(rules, day - timedelta(days=TREND_DAYS - 1))
    end = local_midnight(rules, day + timedelta(days=1))
    done = func.coalesce(T.c.resolved_at, T.c.closed_at)
    where = [T.c.status == Status.CLOSED.value, T.c.closed_at >= start, T.c.closed_at < end]
    if area != rules.root:
        where.append(T.c.area.in_(rules.grids_within(area)))
    found = {}
    for pid, n, ok, rated, happy in session.execute(
        select(T.c.claimed_by, func.count(), _sum(T.c.resolve_by.is_(None) | (done <= T.c.resolve_by)),
               _sum(T.c.rating.is_not(None)), _sum(and_(T.c.rating.is_not(None), T.c.rating >= 4)))
        .where(*where).group_by(T.c.claimed_by)
    ):
        found[pid or 0] = (int(n), int(ok), int(rated), int(happy))
    return found
