"""The console's KPI figures for an area: the digest's own figures (:func:`cases.digest.build_digest`,
the same code the daily digest and its export use) plus the few it does not carry.

* 按期处置率 (on-time resolution, 7 days): ``digest.on_time_rate_7d``.
* 按期结案率 (on-time closure, 30 days) counts open overdue tickets as late:
  ``on_time_30d / (closed_30d + overdue now)``.
* 返工率 (rework, 30 days): ``digest.rework_rate_30d``.
* 满意率 (satisfaction, 30 days): of tickets closed in the window and rated, the share rated 4 or 5.
* held now: reports held for a leader's review (flood holds), still open.
* league tables: grids from the digest's grid rows; workers by tickets they closed in 30 days.
* change: each digest rate minus the same rate for the 30 days before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from cases.digest import TREND_DAYS, Digest, build_digest, local_midnight
from cases.models import Person, Status
from cases.models import Ticket as TicketModel
from cases.rules.schema import Rules

T = TicketModel.__table__  # type: ignore[attr-defined]
P = Person.__table__  # type: ignore[attr-defined]
SATISFIED_FROM = 4


@dataclass
class WorkerRow:
    """One worker's line in the league table."""

    person_id: int
    name: str
    closed_30d: int
    on_time_30d: int

    @property
    def on_time_rate(self) -> float | None:
        """Share closed on time."""
        return self.on_time_30d / self.closed_30d if self.closed_30d else None


@dataclass
class Overview:
    """Everything the overview page shows for one area and day."""

    digest: Digest
    on_time_close_rate: float | None
    satisfaction_rate: float | None
    rated_30d: int
    held: int
    workers: list[WorkerRow]
    previous: Digest | None = None  # the same figures for the 30 days before (rates' change)

    def change(self, name: str) -> float | None:
        """``name``'s rate now minus in the previous period (None when either has nothing to rate)."""
        if self.previous is None:
            return None
        now, before = getattr(self.digest, name), getattr(self.previous, name)
        return None if now is None or before is None else now - before


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def overview(session: Session, *, rules: Rules, area: str, day: date, now: datetime,
             compare: bool = True) -> Overview:
    """The KPIs of ``area`` for ``day`` (windows end with it), counts "now" as of ``now``; with ``compare``
    also the digest of the previous 30-day period, for the change of each rate (without: the light digest,
    no times to claim and resolve, for the map)."""
    digest = build_digest(session, rules=rules, area=area, day=day, now=now, max_listed=0, light=not compare)
    previous = build_digest(session, rules=rules, area=area, day=day - timedelta(days=TREND_DAYS), now=now,
                            max_listed=0, light=True) if compare else None
    start_30 = local_midnight(rules, day - timedelta(days=TREND_DAYS - 1))
    end = local_midnight(rules, day + timedelta(days=1))
    where = [] if area == rules.root else [T.c.area.in_(rules.grids_within(area))]
    closed_30 = and_(T.c.status == Status.CLOSED.value, T.c.closed_at >= start_30, T.c.closed_at < end)
    rated, satisfied = session.execute(
        select(func.count(), func.coalesce(func.sum(case((T.c.rating >= SATISFIED_FROM, 1), else_=0)), 0))
        .where(closed_30, T.c.rating.is_not(None), *where)
    ).one()
    held = session.execute(
        select(func.count()).select_from(T).where(T.c.held.is_(True), T.c.status == Status.OPEN.value, *where)
    ).scalar_one()
    done = func.coalesce(T.c.resolved_at, T.c.closed_at)
    on_time = case(((T.c.resolve_by.is_(None)) | (done <= T.c.resolve_by), 1), else_=0)
    workers = [
        WorkerRow(person_id=pid, name=name or f"#{pid}", closed_30d=n, on_time_30d=int(ok))
        for pid, name, n, ok in session.execute(
            select(T.c.claimed_by, P.c.name, func.count(), func.coalesce(func.sum(on_time), 0))
            .select_from(T.join(P, P.c.id == T.c.claimed_by))
            .where(closed_30, *where).group_by(T.c.claimed_by, P.c.name)
        )
    ]
    workers.sort(key=lambda w: (-(w.on_time_rate or 0.0), -w.closed_30d, w.name))
    return Overview(
        digest=digest,
        on_time_close_rate=_rate(digest.on_time_30d, digest.closed_30d + digest.overdue),
        satisfaction_rate=_rate(int(satisfied), int(rated)),
        rated_30d=int(rated),
        held=int(held),
        workers=workers,
        previous=previous,
    )
