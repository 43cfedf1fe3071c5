"""Supervisors' daily digest: figures for an area, computed with SQL aggregates, and its delivery.

Definitions (all days are local days in the rules' time zone; ``day`` is the day reported on):

* ``new``: reports created that day (merged duplicates excluded); ``closed``: tickets closed that day.
* ``open`` / ``overdue``: open or claimed tickets now; overdue = past ``resolve_by`` and not paused.
* on-time closure rate (按期结案率) over 7 and 30 days ending with ``day``: of the tickets closed in the
  window, the share resolved (or, if never resolved, closed) by their ``resolve_by``.
* rework rate (30 days): of the tickets closed in the window, the share reopened at least once.
* median time to claim / to resolve (7 days): from opening to the claims / resolutions made in the window.
* per-grid status: **red** if an open ticket is at escalation level >= 2 or the 30-day on-time rate is
  below 80 %; **amber** if anything is overdue or that rate is below 95 %; **green** otherwise (a grid
  with nothing closed in 30 days is judged on its overdue tickets alone). The area's own status uses the
  same rule on its totals.
* trend: for each of the 30 days ending with ``day``, new and closed that day and the tickets overdue at
  its end (reconstructed from ``resolve_by`` and when they were resolved; tickets cancelled or merged,
  and tickets paused right now, are left out).

The sweep sends digests (:func:`run_digests`; a running bot uses :func:`send_due_digests`, which builds
them outside the write lock): from ``digest.at`` local time on, each person holding a
role named by ``digest.to`` gets one digest per local day about yesterday, for their scope
(``grid_leader``: leaders of a grid; ``community_leader``: leaders of a community; ``street_supervisor``:
supervisors of a street; ``district``: supervisors and leaders of the root). Someone with several such
scopes gets one digest for the broadest (two at the same level: their nearest common area). A
``DigestLog`` row is inserted first and its unique (person, day) decides, so a digest is sent at most
once per person per day even with several processes, and a day missed while the bot was down is sent
once when it comes back later that day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, not_, select, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from cases.clock import as_utc
from cases.db import insert_if_new, insert_ignoring, read_scope, session_scope
from cases.digest_figures import per_grid, quantiles, trend_overdue
from cases.figures import ready
from cases.holiday_calendar import missing_years
from cases.models import DigestLog, Person, Role, RoleAssignment, Status
from cases.models import Ticket as TicketModel
from cases.notify import Notice, Notifier
from cases.rules.schema import Rules

T = TicketModel.__table__  # type: ignore[attr-defined]
P = Person.__table__  # type: ignore[attr-defined]
ACTIVE: tuple[str, ...] = (Status.OPEN, Status.CLAIMED)
RED_LEVEL = 2
RED_RATE = 0.80
AMBER_RATE = 0.95
TREND_DAYS = 30
MAX_LISTED = 100


@dataclass
class GridRow:
    """One grid's line in the digest table."""

    grid: str
    open: int = 0
    overdue: int = 0
    max_level: int = 0
    new: int = 0
    closed: int = 0
    closed_30d: int = 0
    on_time_30d: int = 0
    on_time_rate_30d: float | None = None
    status: str = "green"


@dataclass
class OverdueTicket:
    """An overdue ticket as listed in the digest."""

    id: int
    number: str
    category: str
    area: str | None
    target: str
    status: str
    holder_id: int | None
    holder_name: str | None
    level: int
    age_seconds: int
    overdue_seconds: int


@dataclass
class TrendPoint:
    """One day of the 30-day trend."""

    day: date
    new: int = 0
    closed: int = 0
    overdue: int = 0


@dataclass
class Digest:
    """Everything one digest says about one area."""

    area: str
    kind: str
    day: date
    generated_at: datetime
    new: int = 0
    closed: int = 0
    open: int = 0
    overdue: int = 0
    max_level: int = 0
    closed_7d: int = 0
    on_time_7d: int = 0
    on_time_rate_7d: float | None = None
    closed_30d: int = 0
    on_time_30d: int = 0
    on_time_rate_30d: float | None = None
    reworked_30d: int = 0
    rework_rate_30d: float | None = None
    median_claim_seconds: float | None = None
    median_resolve_seconds: float | None = None
    p90_claim_seconds: float | None = None
    p90_resolve_seconds: float | None = None
    held: int = 0  # open reports held for a leader's review now
    status: str = "green"
    grids: list[GridRow] = field(default_factory=list)
    overdue_tickets: list[OverdueTicket] = field(default_factory=list)
    trend: list[TrendPoint] = field(default_factory=list)
    holidays_missing: list[int] = field(default_factory=list)  # district digests: years the rules lack

    @property
    def all_clear(self) -> bool:
        """Nothing overdue in the area."""
        return self.overdue == 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates and times in ISO format)."""
        data = asdict(self)
        data["day"] = self.day.isoformat()
        data["generated_at"] = self.generated_at.isoformat()
        for point in data["trend"]:
            point["day"] = point["day"].isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Digest:
        """The inverse of :meth:`to_dict` (the bot rebuilds a digest from a notice)."""
        values = dict(data)
        values["day"] = date.fromisoformat(values["day"])
        values["generated_at"] = datetime.fromisoformat(values["generated_at"])
        values["grids"] = [GridRow(**g) for g in values.get("grids", [])]
        values["overdue_tickets"] = [OverdueTicket(**t) for t in values.get("overdue_tickets", [])]
        values["trend"] = [
            TrendPoint(**(t | {"day": date.fromisoformat(t["day"])})) for t in values.get("trend", [])
        ]
        return cls(**values)


def rag_status(*, max_level: int, overdue: int, on_time_rate: float | None) -> str:
    """Red / amber / green, by the thresholds in the module docstring."""
    if max_level >= RED_LEVEL or (on_time_rate is not None and on_time_rate < RED_RATE):
        return "red"
    if overdue > 0 or (on_time_rate is not None and on_time_rate < AMBER_RATE):
        return "amber"
    return "green"


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def period_rates(*, on_time_7d: int, closed_7d: int, on_time_30d: int, closed_30d: int,
                 reworked_30d: int) -> tuple[float | None, float | None, float | None]:
    """(on-time closure 7 days, on-time closure 30 days, rework 30 days) from a period's counts: the one
    definition of these rates (the digest's and the console's cards, this period and the one before)."""
    return _rate(on_time_7d, closed_7d), _rate(on_time_30d, closed_30d), _rate(reworked_30d, closed_30d)


def local_midnight(rules: Rules, day: date) -> datetime:
    """The UTC moment local ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=rules.zone).astimezone(UTC)


def _area_filter(rules: Rules, area: str) -> ColumnElement[bool]:
    if area == rules.root:
        return true()
    return T.c.area.in_(rules.grids_within(area))


def _seconds(session: Session, later: Any, earlier: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def build_digest(
    session: Session, *, rules: Rules, area: str, day: date, now: datetime, max_listed: int = MAX_LISTED,
    light: bool = False,
) -> Digest:
    """The digest of ``area`` (any level of the tree) for local ``day``, overdue figures as of ``now``.
    ``light`` leaves out the trend and the times to claim and resolve (the console's map and comparisons)."""
    if area not in rules.areas:
        raise ValueError(f"unknown area {area!r}")
    now = as_utc(now)
    start_30 = local_midnight(rules, day - timedelta(days=TREND_DAYS - 1))
    where = _area_filter(rules, area)
    active = T.c.status.in_(ACTIVE)
    overdue = and_(active, T.c.paused_at.is_(None), T.c.resolve_by < now)
    days = [day - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    edges = [local_midnight(rules, d + timedelta(days=1)) for d in days]
    kept = (None if area == rules.root else rules.grids_within(area), days) if ready(session, rules) else None
    figures = per_grid(session, where, start_30, edges, now, new_from=edges[-2] if light else start_30, kept=kept)
    rows = {grid: GridRow(grid) for grid in rules.grids_within(area)}
    digest = Digest(area=area, kind=rules.areas[area].kind, day=day, generated_at=now)
    digest.trend = [TrendPoint(d, new=n, closed=c) for d, n, c in zip(days, figures.new, figures.closed, strict=True)]
    for grid, f in figures.grids.items():
        digest.new += f.new
        digest.closed += f.closed
        digest.open += f.open
        digest.overdue += f.overdue
        digest.held += f.held
        digest.max_level = max(digest.max_level, f.max_level)
        digest.closed_7d += f.closed_7d
        digest.on_time_7d += f.on_time_7d
        digest.closed_30d += f.closed_30d
        digest.on_time_30d += f.on_time_30d
        digest.reworked_30d += f.reworked_30d
        if grid in rows:
            row = rows[grid]
            row.new, row.closed, row.open, row.overdue, row.max_level = f.new, f.closed, f.open, f.overdue, f.max_level
            row.closed_30d, row.on_time_30d = f.closed_30d, f.on_time_30d
    for row in rows.values():
        row.on_time_rate_30d = _rate(row.on_time_30d, row.closed_30d)
        row.status = rag_status(max_level=row.max_level, overdue=row.overdue, on_time_rate=row.on_time_rate_30d)
    digest.grids = list(rows.values())
    digest.on_time_rate_7d, digest.on_time_rate_30d, digest.rework_rate_30d = period_rates(
        on_time_7d=digest.on_time_7d, closed_7d=digest.closed_7d, on_time_30d=digest.on_time_30d,
        closed_30d=digest.closed_30d, reworked_30d=digest.reworked_30d)
    digest.status = rag_status(max_level=digest.max_level, overdue=digest.overdue,
                               on_time_rate=digest.on_time_rate_30d)
    digest.overdue_tickets = _overdue_list(session, where, overdue, now, max_listed) if max_listed else []
    if digest.kind == "district":  # the district office keeps the rules file
        digest.holidays_missing = missing_years(rules, day)
    if light:
        return digest
    (digest.median_claim_seconds, digest.p90_claim_seconds, digest.median_resolve_seconds,
     digest.p90_resolve_seconds) = times(session, rules=rules, area=area, day=day)
    counted = and_(T.c.status.not_in((Status.DRAFT, Status.CANCELLED, Status.MERGED)),
                   not_(and_(active, T.c.paused_at.is_not(None))))
    late_by_day = figures.overdue if figures.overdue is not None else trend_overdue(session, where, edges, counted)
    for point, late in zip(digest.trend, late_by_day, strict=True):
        point.overdue = late
    return digest


def times(session: Session, *, rules: Rules, area: str, day: date) -> tuple[float | None, ...]:
    """Median and 90th percentile of the time to claim, then of the time to resolve, over the claims and
    resolutions made in the 7 days ending with ``day`` (exact: read through the claimed_at and resolved_at
    covering indexes)."""
    where = _area_filter(rules, area)
    start_7 = local_midnight(rules, day - timedelta(days=6))
    day_end = local_midnight(rules, day + timedelta(days=1))
    opened = func.coalesce(T.c.opened_at, T.c.created_at)
    claim = quantiles(session, _seconds(session, T.c.claimed_at, opened),
                      and_(where, T.c.claimed_at >= start_7, T.c.claimed_at < day_end), (0.5, 0.9))
    solve = quantiles(session, _seconds(session, T.c.resolved_at, opened),
                      and_(where, T.c.resolved_at >= start_7, T.c.resolved_at < day_end), (0.5, 0.9))
    return (*claim, *solve)


def _overdue_list(
    session: Session, where: ColumnElement[bool], overdue: ColumnElement[bool], now: datetime, limit: int
) -> list[OverdueTicket]:
    query = (
        select(T.c.id, T.c.category, T.c.area, T.c.target, T.c.status, T.c.claimed_by, P.c.name,
               T.c.escalation_level, T.c.created_at, T.c.resolve_by)
        .select_from(T.outerjoin(P, P.c.id == T.c.claimed_by))
        .where(where, overdue)
        # coalesce() hides created_at's own index from the planner: the overdue rows are few and found
        # through (status, resolve_by); walking the whole created_at index would scan the table.
        .order_by(func.coalesce(T.c.created_at, T.c.created_at), T.c.id)
        .limit(limit)
    )
    listed = []
    for tid, category, area, target, status, holder, name, level, created, resolve_by in session.execute(query):
        listed.append(OverdueTicket(
            id=tid, number=f"#{tid}", category=category, area=area, target=target, status=status,
            holder_id=holder, holder_name=name, level=level,
            age_seconds=int((now - as_utc(created)).total_seconds()),
            overdue_seconds=int((now - as_utc(resolve_by)).total_seconds()),
        ))
    return listed


# ---- delivery ----


@dataclass(frozen=True)
class DigestSent:
    """A digest sent (or, in a dry run, due) to one person."""

    person_id: int
    area: str
    day: date  # the local day it was sent for (DigestLog.day)
    report_day: date  # the day its figures describe (the day before)


_AUDIENCE: dict[str, tuple[tuple[str, ...], str]] = {
    "grid_leader": ((Role.LEADER,), "grid"),
    "community_leader": ((Role.LEADER,), "community"),
    "street_supervisor": ((Role.SUPERVISOR,), "street"),
    "district": ((Role.SUPERVISOR, Role.LEADER), "district"),
}


def _common_area(rules: Rules, areas: list[str]) -> str:
    chains = [rules.ancestors(a) for a in areas]
    for candidate in chains[0]:
        if all(candidate in chain for chain in chains):
            return candidate
    return rules.root


def digest_audience(session: Session, rules: Rules) -> dict[int, str]:
    """Each person with a digest role (``digest.to``) and the area their digest covers."""
    wanted: dict[str, set[str]] = {}
    for target in rules.digest.to:
        roles, kind = _AUDIENCE[target]
        for role in roles:
            wanted.setdefault(role, set()).update(
                [rules.root] if kind == "district" else [a for a, area in rules.areas.items() if area.kind == kind]
            )
    if not wanted:
        return {}
    scopes_of: dict[int, list[str]] = {}
    rows = session.execute(
        select(RoleAssignment.person_id, RoleAssignment.role, RoleAssignment.scope).where(  # type: ignore[call-overload]
            RoleAssignment.role.in_(list(wanted))  # type: ignore[attr-defined]
        )
    )
    for person_id, role, scope in rows:
        if scope in wanted.get(role, set()):
            scopes_of.setdefault(person_id, []).append(scope)
    audience: dict[int, str] = {}
    for person_id, scopes in scopes_of.items():
        depth = min(len(rules.ancestors(s)) for s in scopes)
        broadest = sorted({s for s in scopes if len(rules.ancestors(s)) == depth})
        audience[person_id] = broadest[0] if len(broadest) == 1 else _common_area(rules, broadest)
    return audience


_DIGEST_LOG = DigestLog.__table__  # type: ignore[attr-defined]
_LOG_ONCE = insert_ignoring(_DIGEST_LOG, conflict=["person_id", "day"], returning=_DIGEST_LOG.c.id)


def _claim_log(session: Session, person_id: int, day: date, area: str, now: datetime) -> bool:
    """Insert the (person, day) log row; False when it already exists (someone sent it)."""
    values = {"person_id": person_id, "day": day, "area": area, "sent_at": now}
    return insert_if_new(session, _LOG_ONCE, _DIGEST_LOG, values)


def due_digests(session: Session, *, rules: Rules, now: datetime) -> list[DigestSent]:
    """The digests due at ``now`` and not yet logged for today, one per person (only reads)."""
    now = as_utc(now)
    local = now.astimezone(rules.zone)
    if local.time() < rules.digest.at:
        return []
    today = local.date()
    audience = digest_audience(session, rules)
    if not audience:
        return []
    done = set(session.execute(
        select(DigestLog.person_id).where(DigestLog.day == today)  # type: ignore[call-overload]
    ).scalars())
    return [DigestSent(person_id, area, today, today - timedelta(days=1))
            for person_id, area in sorted(audience.items()) if person_id not in done]


def build_digests(session: Session, *, rules: Rules, due: Sequence[DigestSent], now: datetime) -> dict[str, Digest]:
    """One digest per area that ``due`` names (only reads: the heavy queries, run outside the write lock)."""
    built: dict[str, Digest] = {}
    for item in due:
        _digest_for(session, rules, item, now, built)
    return built


def _digest_for(session: Session, rules: Rules, item: DigestSent, now: datetime, built: dict[str, Digest]) -> Digest:
    """The digest of ``item``'s area from ``built``, built (and kept there) when missing."""
    if item.area not in built:
        built[item.area] = build_digest(session, rules=rules, area=item.area, day=item.report_day, now=now)
    return built[item.area]


def deliver_digests(
    session: Session, *, rules: Rules, notifier: Notifier, due: Sequence[DigestSent], now: datetime,
    built: dict[str, Digest] | None = None,
) -> list[DigestSent]:
    """Log and queue each due digest unless someone already did (the log's unique (person, day) decides);
    digests missing from ``built`` are built here. Returns those this call sent. The caller commits."""
    built = {} if built is None else built
    sent: list[DigestSent] = []
    for item in due:
        if not _claim_log(session, item.person_id, item.day, item.area, now):
            continue
        digest = _digest_for(session, rules, item, now, built)
        person = session.get(Person, item.person_id)
        if person is not None:
            data = {"area": item.area, "day": item.report_day.isoformat(), "sent_for": item.day.isoformat(),
                    "status": digest.status, "overdue": digest.overdue, "digest": digest.to_dict()}
            notifier.notify(session, [person], Notice("digest", None, data), now=now)
        sent.append(item)
    return sent


def run_digests(
    session: Session, *, rules: Rules, notifier: Notifier, now: datetime, dry_run: bool = False
) -> list[DigestSent]:
    """Send today's digests that are due and not yet sent (notice ``digest``), all in the caller's
    transaction, which commits. A running bot uses :func:`send_due_digests` instead."""
    due = due_digests(session, rules=rules, now=now)
    if dry_run:
        return due
    return deliver_digests(session, rules=rules, notifier=notifier, due=due, now=as_utc(now))


DELIVERY_BATCH = 20
"""Digests logged and queued per write transaction by :func:`send_due_digests`."""


def send_due_digests(
    engine: Engine, *, rules: Rules, notifier: Notifier, now: datetime,
    prepare: Callable[[Iterable[Digest]], None] | None = None, batch: int = DELIVERY_BATCH,
) -> list[DigestSent]:
    """:func:`run_digests` without holding the write lock for long: find what is due and build the digests
    in a read-only transaction, let ``prepare`` do slow work on them (the bot renders the charts) outside
    any transaction, then log and queue them ``batch`` people per write transaction. Residents' reports
    are never held up behind a district's digests. A batch that fails is rolled back and retried by the
    next run while the other batches go out (the first error is raised at the end); nobody gets a digest
    twice."""
    now = as_utc(now)
    batch = max(1, batch)
    with read_scope(engine) as session:
        due = due_digests(session, rules=rules, now=now)
        built = build_digests(session, rules=rules, due=due, now=now)
    if prepare is not None and built:
        prepare(built.values())
    sent: list[DigestSent] = []
    errors: list[Exception] = []
    for first in range(0, len(due), batch):
        try:
            with session_scope(engine) as session:
                sent += deliver_digests(session, rules=rules, notifier=notifier, due=due[first:first + batch],
                                        now=now, built=built)
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]
    return sent
