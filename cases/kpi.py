"""The console's KPI figures for an area: the digest's own figures (:func:`cases.digest.build_digest`,
the same code the daily digest and its export use) plus the few it does not carry.

* 按期处置率 (on-time resolution, 7 days): ``digest.on_time_rate_7d``.
* 按期结案率 (on-time closure, 30 days) counts open overdue tickets as late:
  ``on_time_30d / (closed_30d + overdue)`` (overdue now; for the previous period, at its last day's end).
* 返工率 (rework, 30 days): ``digest.rework_rate_30d``.
* 满意率 (satisfaction, 30 days): of tickets closed in the window and rated, the share rated 4 or 5.
* times to claim and to resolve (7 days): the digest's medians and 90th percentiles, exact.
* held now: reports held for a leader's review (flood holds), still open.
* league tables: grids from the digest's grid rows; workers by tickets they closed in 30 days; the teams the
  area oversees by their tickets closed in 30 days, with their open and overdue now.
* change: each card's figure minus the same figure for the period 30 days earlier (:class:`Cards`; the
  "now" counts open and held have none).

Closed-ticket counts per worker come from the kept day figures (:mod:`cases.figures`) when they are kept in
the rules' zone, otherwise from the tickets' closed-window index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session, col

from cases import figures
from cases.digest import TREND_DAYS, Digest, build_digest, local_midnight, period_rates, times
from cases.models import ACTIVE_STATUSES, Person, Status
from cases.models import Ticket as TicketModel
from cases.rules.schema import Rules
from cases.services.authz import target_in_scope

T = TicketModel.__table__  # type: ignore[attr-defined]
SATISFIED_FROM = figures.SATISFIED_FROM


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
class Cards:
    """The figures of the KPI cards that have a change, for one period (definitions above)."""

    on_time_rate_7d: float | None
    on_time_close_rate: float | None
    rework_rate_30d: float | None
    satisfaction_rate: float | None
    median_claim_seconds: float | None
    p90_claim_seconds: float | None
    median_resolve_seconds: float | None
    p90_resolve_seconds: float | None
    new: int
    closed_7d: int
    closed_30d: int
    overdue: int


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
    cards: Cards
    rated_30d: int
    held: int
    workers: list[WorkerRow]
    teams: list[TeamRow] = field(default_factory=list)
    previous: Cards | None = None  # the same figures 30 days earlier (their change)

    @property
    def on_time_close_rate(self) -> float | None:
        """按期结案率 (open overdue tickets counted as late)."""
        return self.cards.on_time_close_rate

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率."""
        return self.cards.satisfaction_rate

    def change(self, name: str) -> float | None:
        """The card ``name``'s figure now minus in the previous period (None when either is unknown)."""
        if self.previous is None:
            return None
        now, before = getattr(self.cards, name), getattr(self.previous, name)
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


def closed_by_worker(session: Session, rules: Rules, area: str, day: date) -> list[tuple[int, int, int, int, int]]:
    """(worker, closed, on time, rated, rated 4 or 5) of the tickets closed in the 30 days ending with ``day``
    (worker 0: held by nobody)."""
    grids = None if area == rules.root else rules.grids_within(area)
    if figures.ready(session, rules):
        return figures.by_worker(session, grids, day - timedelta(days=TREND_DAYS - 1), day)
    done = func.coalesce(T.c.resolved_at, T.c.closed_at)
    on_time = (T.c.resolve_by.is_(None)) | (done <= T.c.resolve_by)
    holder = func.coalesce(T.c.claimed_by, 0)
    rows = session.execute(
        select(holder, func.count(), _sum(on_time), _sum(T.c.rating.is_not(None)), _sum(T.c.rating >= SATISFIED_FROM))
        .where(_closed_within(rules, day, TREND_DAYS), *([] if grids is None else [T.c.area.in_(grids)]))
        .group_by(holder)
    ).all()
    return [(int(w), int(c), int(t), int(r), int(s)) for w, c, t, r, s in rows]


def _cards(*, on_time_7d: int, closed_7d: int, on_time_30d: int, closed_30d: int, reworked_30d: int,
           rated: int, satisfied: int, overdue: int, new: int, times: tuple[float | None, ...]) -> Cards:
    """The cards of one period from its counts (the rates: :func:`cases.digest.period_rates`; 按期结案率 counts
    the tickets overdue at the period's end as late; 满意率 is rated 4–5 of rated) and its four times."""
    on_time_rate_7d, _, rework_rate_30d = period_rates(
        on_time_7d=on_time_7d, closed_7d=closed_7d, on_time_30d=on_time_30d, closed_30d=closed_30d,
        reworked_30d=reworked_30d)
    median_claim, p90_claim, median_resolve, p90_resolve = times
    return Cards(
        on_time_rate_7d=on_time_rate_7d, on_time_close_rate=_rate(on_time_30d, closed_30d + overdue),
        rework_rate_30d=rework_rate_30d, satisfaction_rate=_rate(satisfied, rated),
        median_claim_seconds=median_claim, p90_claim_seconds=p90_claim,
        median_resolve_seconds=median_resolve, p90_resolve_seconds=p90_resolve,
        new=new, closed_7d=closed_7d, closed_30d=closed_30d, overdue=overdue)


def _digest_cards(digest: Digest, overdue: int, by_worker: list[tuple[int, int, int, int, int]]) -> Cards:
    """The cards of the period a digest covers (rated and satisfied from the workers' rows)."""
    return _cards(on_time_7d=digest.on_time_7d, closed_7d=digest.closed_7d, on_time_30d=digest.on_time_30d,
                  closed_30d=digest.closed_30d, reworked_30d=digest.reworked_30d,
                  rated=sum(r[3] for r in by_worker), satisfied=sum(r[4] for r in by_worker), overdue=overdue,
                  new=digest.new, times=(digest.median_claim_seconds, digest.p90_claim_seconds,
                                         digest.median_resolve_seconds, digest.p90_resolve_seconds))


def previous_cards(session: Session, *, rules: Rules, area: str, day: date, now: datetime) -> Cards:
    """The cards of the period ending 30 days before ``day``; overdue is the count at that day's end. From the
    kept figures (sums over the period's days and the exact times) when they are kept, else from its digest."""
    before = day - timedelta(days=TREND_DAYS)
    if not figures.ready(session, rules):
        digest = build_digest(session, rules=rules, area=area, day=before, now=now, max_listed=0)
        return _digest_cards(digest, digest.trend[-1].overdue, closed_by_worker(session, rules, area, before))
    grids = None if area == rules.root else rules.grids_within(area)
    sums = figures.totals(session, grids, before - timedelta(days=TREND_DAYS - 1), before)
    overdue = sum(late for *_, late in figures.now_by_grid(session, grids)) - sums["late_change_after"]
    return _cards(on_time_7d=sums["on_time_7d"], closed_7d=sums["closed_7d"], on_time_30d=sums["on_time"],
                  closed_30d=sums["closed"], reworked_30d=sums["reworked"], rated=sums["rated"],
                  satisfied=sums["satisfied"], overdue=overdue, new=sums["new_last"],
                  times=times(session, rules=rules, area=area, day=before))


def overview(session: Session, *, rules: Rules, area: str, day: date, now: datetime,
             compare: bool = True) -> Overview:
    """The KPIs of ``area`` for ``day`` (windows end with it), counts "now" as of ``now``; with ``compare``
    also the cards of the period 30 days earlier, for each card's change (without: the light digest, no
    times to claim and resolve)."""
    digest = build_digest(session, rules=rules, area=area, day=day, now=now, max_listed=0, light=not compare)
    by_worker = closed_by_worker(session, rules, area, day)
    names = dict(session.execute(
        select(col(Person.id), col(Person.name)).where(col(Person.id).in_([w for w, *_ in by_worker if w]))
    ).all()) if by_worker else {}
    workers = [WorkerRow(person_id=w, name=names.get(w) or f"#{w}", closed_30d=c, on_time_30d=t)
               for w, c, t, _, _ in by_worker if w and c]
    workers.sort(key=lambda w: (-(w.on_time_rate or 0.0), -w.closed_30d, w.name))
    return Overview(
        digest=digest,
        cards=_digest_cards(digest, digest.overdue, by_worker),
        rated_30d=sum(r[3] for r in by_worker),
        held=digest.held,
        workers=workers,
        previous=previous_cards(session, rules=rules, area=area, day=day, now=now) if compare else None,
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
