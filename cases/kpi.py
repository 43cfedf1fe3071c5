"""The console's KPI figures for an area: the digest's own figures (:func:`cases.digest.build_digest`,
the same code the daily digest and its export use) plus the few it does not carry.

* 按期处置率 (on-time resolution, 7 days): ``digest.on_time_rate_7d``.
* 按期结案率 (on-time closure, 30 days) counts open overdue tickets as late:
  ``on_time_30d / (closed_30d + overdue now)``.
* 返工率 (rework, 30 days): ``digest.rework_rate_30d``.
* 满意率 (satisfaction, 30 days): of tickets closed in the window and rated, the share rated 4 or 5.
* held now: reports held for a leader's review (flood holds), still open.
* league tables: grids from the digest's grid rows; workers by tickets they closed in 30 days; the teams the
  area oversees by their tickets closed in 30 days, with their open and overdue now.
* change: each digest rate minus the same rate for the 30 days before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session

from cases.digest import TREND_DAYS, Digest, build_digest, local_midnight
from cases.models import ACTIVE_STATUSES, Person, Status
from cases.models import Ticket as TicketModel
from cases.rules.schema import Rules
from cases.services.authz import target_in_scope

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


@dataclass(frozen=True)
class Rates:
    """The digest's rates for one period (the same definitions, for the comparison)."""

    on_time_rate_7d: float | None
    on_time_rate_30d: float | None
    rework_rate_30d: float | None


@dataclass
class TeamRow:
    """One specialist team's line in the league table (its tickets anywhere in the area's reach)."""

    team: str
    open: int
    overdue: int
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
    teams: list[TeamRow] = field(default_factory=list)
    previous: Rates | None = None  # the same rates for the 30 days before (their change)

    def change(self, name: str) -> float | None:
        """``name``'s rate now minus in the previous period (None when either has nothing to rate)."""
        if self.previous is None:
            return None
        now, before = getattr(self.digest, name), getattr(self.previous, name)
        return None if now is None or before is None else now - before


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _sum(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _closed_within(rules: Rules, day: date, days: int) -> Any:
    """Closed tickets closed in the ``days`` local days ending with ``day``."""
    start = local_midnight(rules, day - timedelta(days=days - 1))
    return and_(T.c.status == Status.CLOSED.value, T.c.closed_at >= start,
                T.c.closed_at < local_midnight(rules, day + timedelta(days=1)))


def _rates(session: Session, rules: Rules, where: list[Any], day: date) -> Rates:
    """The digest's closure rates for the windows ending with ``day`` (one scan of the closed window)."""
    done = func.coalesce(T.c.resolved_at, T.c.closed_at)
    on_time = (T.c.resolve_by.is_(None)) | (done <= T.c.resolve_by)
    week = T.c.closed_at >= local_midnight(rules, day - timedelta(days=6))
    c30, t30, rework, c7, t7 = session.execute(
        select(func.count(), _sum(on_time), _sum(T.c.reopen_count > 0), _sum(week), _sum(and_(week, on_time)))
        .select_from(T).where(_closed_within(rules, day, TREND_DAYS), *where)
    ).one()
    return Rates(on_time_rate_7d=_rate(int(t7), int(c7)), on_time_rate_30d=_rate(int(t30), int(c30)),
                 rework_rate_30d=_rate(int(rework), int(c30)))


def overview(session: Session, *, rules: Rules, area: str, day: date, now: datetime,
             compare: bool = True) -> Overview:
    """The KPIs of ``area`` for ``day`` (windows end with it), counts "now" as of ``now``; with ``compare``
    also the digest of the previous 30-day period, for the change of each rate (without: the light digest,
    no times to claim and resolve, for the map)."""
    digest = build_digest(session, rules=rules, area=area, day=day, now=now, max_listed=0, light=not compare)
    where = [] if area == rules.root else [T.c.area.in_(rules.grids_within(area))]
    done = func.coalesce(T.c.resolved_at, T.c.closed_at)
    on_time = (T.c.resolve_by.is_(None)) | (done <= T.c.resolve_by)
    workers, rated, satisfied = [], 0, 0
    for pid, name, n, ok, stars, happy in session.execute(
        select(T.c.claimed_by, P.c.name, func.count(), _sum(on_time), _sum(T.c.rating.is_not(None)),
               _sum(T.c.rating >= SATISFIED_FROM))
        .select_from(T.outerjoin(P, P.c.id == T.c.claimed_by))
        .where(_closed_within(rules, day, TREND_DAYS), *where).group_by(T.c.claimed_by, P.c.name)
    ):
        rated, satisfied = rated + stars, satisfied + happy
        if pid is not None:
            workers.append(WorkerRow(person_id=pid, name=name or f"#{pid}", closed_30d=n, on_time_30d=int(ok)))
    workers.sort(key=lambda w: (-(w.on_time_rate or 0.0), -w.closed_30d, w.name))
    return Overview(
        digest=digest,
        on_time_close_rate=_rate(digest.on_time_30d, digest.closed_30d + digest.overdue),
        satisfaction_rate=_rate(int(satisfied), int(rated)),
        rated_30d=int(rated),
        held=digest.held,
        workers=workers,
        previous=_rates(session, rules, where, day - timedelta(days=TREND_DAYS)) if compare else None,
        teams=_teams(session, rules, area, day, now),
    )


def _teams(session: Session, rules: Rules, area: str, day: date, now: datetime) -> list[TeamRow]:
    """The teams ``area`` oversees (:func:`cases.services.authz.target_in_scope`), ranked like the workers;
    read through the (target, status, closed_at, ...) index."""
    targets = [f"team:{t}" for t in rules.teams if target_in_scope(rules, f"team:{t}", area)]
    if not targets:
        return []
    active = T.c.status.in_(ACTIVE_STATUSES)
    closed = _closed_within(rules, day, TREND_DAYS)
    done = func.coalesce(T.c.resolved_at, T.c.closed_at)
    on_time = (T.c.resolve_by.is_(None)) | (done <= T.c.resolve_by)
    found = {target: (n, late, c, ok) for target, n, late, c, ok in session.execute(
        select(T.c.target, _sum(active), _sum(and_(active, T.c.paused_at.is_(None), T.c.resolve_by < now)),
               _sum(closed), _sum(and_(closed, on_time)))
        .where(T.c.target.in_(targets), or_(active, closed)).group_by(T.c.target)
    )}
    rows = [TeamRow(t[5:], *found.get(t, (0, 0, 0, 0))) for t in targets]
    return sorted(rows, key=lambda r: (-(r.on_time_rate or 0.0), -r.closed_30d, r.team))
