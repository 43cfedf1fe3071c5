"""Figures kept as tickets change (tables ``ticket_figures`` per day and ``ticket_now``), so the digest and
the console read a few thousand rows instead of every ticket of a 30-day window or every open one.

A ticket counts in at most four rows, by the local day (table ``figure_day``: the rules' zone's days and
the UTC moment each begins) of:

* its ``created_at`` (``new``; merged duplicates left out), in the row of its grid and category, worker 0;
* its ``closed_at`` when it is closed (``closed``; ``on_time``: resolved, or if never resolved closed, by
  ``resolve_by`` or without one; ``reworked``: reopened at least once; ``rated``; ``satisfied``: rated
  :data:`SATISFIED_FROM` or more), in the row of its grid, category and holder (0: nobody);
* for the overdue trend, when the ticket is late (done, i.e. resolved or if never resolved closed, after its
  ``resolve_by``, or open or claimed and not done): its ``resolve_by`` (``late_due``) and the moment it was
  done (``late_done``, counted in the day that moment ends or falls in: a ticket done at midnight is done at
  the end of the day before), worker 0. Tickets in draft, cancelled or merged, and open or claimed ones paused
  now, count in neither. The tickets overdue at the end of day *d* are then the late ones not done, less
  ``late_due`` after *d*, plus ``late_done`` after *d* (:func:`cases.digest_figures.per_grid`).

and, per grid and category, in ``ticket_now``: open or claimed now (``open``), open and held for review
(``held``), open or claimed, not paused, with a ``resolve_by`` and not done (``late_open``, the base of the
overdue trend).

These are exactly the digest's definitions (:mod:`cases.digest`). Database triggers on ``ticket`` (created
by migration 0008 from its frozen copy of :func:`create_triggers`) take a row's old contribution away and
add its new one in the same transaction as any insert, update or delete, whatever code or tool makes it; an update that
changes none of the columns involved costs nothing (an insert costs a few upserts: about 0.2–0.4 ms per
ticket in a bulk load on SQLite). On PostgreSQL two transactions touching the same figure row wait for each
other until the first commits (and one that touches rows in the opposite order of another is ended as a
deadlock, to be retried). :func:`rebuild` recomputes the table from the tickets
(the migration does for existing tickets; ``gridbot db rebuild-figures``; :func:`ensure` when the rules'
zone is not the calendar's). Readers use the table only while its zone is the rules' (:func:`ready`);
otherwise they compute from the tickets' indexes, as before, with the same result.

Changing what the triggers compute needs a new migration that re-creates them (``tests/test_migrations.py``
fails while the migrated triggers differ from :func:`create_triggers`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, case, delete, func, insert, select, text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from cases.db import session_scope
from cases.models import FigureDay, TicketFigures, TicketNow
from cases.rules.schema import Rules

log = logging.getLogger(__name__)
D = FigureDay.__table__  # type: ignore[attr-defined]
F = TicketFigures.__table__  # type: ignore[attr-defined]
N = TicketNow.__table__  # type: ignore[attr-defined]
NOW_COUNTERS = ("open", "held", "late_open")
SATISFIED_FROM = 4
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
COUNTERS = ("new", "closed", "on_time", "reworked", "rated", "satisfied", "late_due", "late_done")

# ---- what a ticket row contributes (the triggers' and the rebuild's one definition, as SQL) ----


def _day_of(moment: str, strict: bool = False) -> str:
    return (f"(SELECT d.day FROM figure_day d WHERE d.starts_at {'<' if strict else '<='} {moment} "
            "ORDER BY d.starts_at DESC LIMIT 1)")


def _when(condition: str, sign: str = "1") -> str:
    return f"CASE WHEN {condition} THEN {sign} ELSE 0 END"


def _parts(r: str, sign: str) -> list[tuple[str, bool, str, list[str]]]:
    """For row alias ``r`` counted with ``sign``: (the moment its day is of, whether that day is the one the
    moment ends (strictly after its start), the condition, the key and counter expressions in the order of
    :func:`_columns`)."""
    on_time = f"({r}.resolve_by IS NULL OR COALESCE({r}.resolved_at, {r}.closed_at) <= {r}.resolve_by)"
    zeros = ["0"] * len(COUNTERS)

    def counters(**values: str) -> list[str]:
        return [values.get(c, z) for c, z in zip(COUNTERS, zeros, strict=True)]

    grid = [f"COALESCE({r}.area, '')", f"{r}.category"]
    active = f"{r}.status IN ('open', 'claimed')"
    done = f"COALESCE({r}.resolved_at, {r}.closed_at)"
    late = (f"{r}.status NOT IN ('draft', 'cancelled', 'merged') AND NOT ({active} AND {r}.paused_at IS NOT NULL) "
            f"AND {r}.resolve_by IS NOT NULL AND ({done} > {r}.resolve_by OR ({done} IS NULL AND {active}))")
    return [
        (f"{r}.created_at", False, f"{r}.status <> 'merged'", [*grid, "0", *counters(new=sign)]),
        (f"{r}.closed_at", False, f"{r}.status = 'closed'",
         [*grid, f"COALESCE({r}.claimed_by, 0)", *counters(
             closed=sign, on_time=_when(on_time, sign), reworked=_when(f"{r}.reopen_count > 0", sign),
             rated=_when(f"{r}.rating IS NOT NULL", sign), satisfied=_when(f"{r}.rating >= {SATISFIED_FROM}", sign))]),
        (f"{r}.resolve_by", False, late, [*grid, "0", *counters(late_due=sign)]),
        (done, True, late, [*grid, "0", *counters(late_done=sign)]),
    ]


def _now_part(r: str, sign: str) -> tuple[str, list[str]]:
    """Row ``r``'s ``ticket_now`` contribution times ``sign``: (the condition, the values of :data:`_NOW_COLUMNS`)."""
    active = f"{r}.status IN ('open', 'claimed')"
    late_open = (f"{r}.paused_at IS NULL AND {r}.resolve_by IS NOT NULL AND {r}.resolved_at IS NULL "
                 f"AND {r}.closed_at IS NULL")
    return active, [f"COALESCE({r}.area, '')", f"{r}.category", sign,
                    _when(f"{r}.held AND {r}.status = 'open'", sign), _when(late_open, sign)]


_NOW_COLUMNS = "area, category, " + ", ".join(NOW_COUNTERS)


def _columns() -> str:
    return "day, area, category, worker, " + ", ".join(COUNTERS)


def _upserts(r: str, sign: str) -> list[str]:
    """The statements adding row ``r``'s contribution times ``sign`` (``1`` or ``-1``)."""
    merge = ", ".join(f"{c} = ticket_figures.{c} + excluded.{c}" for c in COUNTERS)
    out = []
    for moment, strict, condition, values in _parts(r, sign):
        out.append(
            f"INSERT INTO ticket_figures ({_columns()}) SELECT d.day, {', '.join(values)} FROM figure_day d "
            f"WHERE {condition} AND d.starts_at {'<' if strict else '<='} {moment} "
            "ORDER BY d.starts_at DESC LIMIT 1 "
            f"ON CONFLICT (day, area, category, worker) DO UPDATE SET {merge}")
    condition, values = _now_part(r, sign)
    merge = ", ".join(f"{c} = ticket_now.{c} + excluded.{c}" for c in NOW_COUNTERS)
    out.append(f"INSERT INTO ticket_now ({_NOW_COLUMNS}) SELECT {', '.join(values)} WHERE {condition} "
               f"ON CONFLICT (area, category) DO UPDATE SET {merge}")
    return out


# Columns whose change can change a row's contribution; other updates (escalation, reminders, notes) skip.
_WATCHED = ("status", "area", "category", "created_at", "closed_at", "claimed_by", "resolved_at", "resolve_by",
            "reopen_count", "rating", "paused_at", "held")
_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _WATCHED)


def create_triggers(connection: Connection) -> None:
    """Create the triggers keeping ``ticket_figures`` (insert, update of a watched column, delete)."""
    add, take = _upserts("NEW", "1"), _upserts("OLD", "-1")
    if connection.dialect.name == "sqlite":
        for name, event, when, body in (("ins", "INSERT", "", add), ("del", "DELETE", "", take),
                                        ("upd", "UPDATE", f" WHEN {_CHANGED}", take + add)):
            connection.exec_driver_sql(
                f"CREATE TRIGGER ticket_figures_{name} AFTER {event} ON ticket FOR EACH ROW{when} "
                f"BEGIN {'; '.join(body)}; END")
        return
    connection.exec_driver_sql(
        "CREATE FUNCTION ticket_figures_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {'; '.join(take)}; END IF; "
        f"IF TG_OP <> 'DELETE' THEN {'; '.join(add)}; END IF; "
        "RETURN NULL; END $$")
    for name, event, when in (("ins", "INSERT", ""), ("del", "DELETE", ""), ("upd", "UPDATE", f" WHEN ({_CHANGED})")):
        connection.exec_driver_sql(
            f"CREATE TRIGGER ticket_figures_{name} AFTER {event} ON ticket FOR EACH ROW{when} "
            "EXECUTE FUNCTION ticket_figures_keep()")


def drop_triggers(connection: Connection) -> None:
    """Undo :func:`create_triggers`."""
    sqlite = connection.dialect.name == "sqlite"
    for name in ("ins", "del", "upd"):
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS ticket_figures_{name}" + ("" if sqlite else " ON ticket"))
    if not sqlite:
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS ticket_figures_keep()")


# ---- building ----


def calendar(zone: str) -> list[dict[str, Any]]:
    """The ``figure_day`` rows of ``zone``: each day from :data:`FIRST_DAY` to :data:`LAST_DAY`."""
    tz = ZoneInfo(zone)
    days = (LAST_DAY - FIRST_DAY).days + 1
    rows = []
    for i in range(days):
        day = FIRST_DAY + timedelta(days=i)
        rows.append({"day": day, "zone": zone,
                     "starts_at": datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)})
    return rows


def rebuild(connection: Connection | Session, zone: str) -> int:
    """Recompute the calendar for ``zone`` and every ``ticket_figures`` row from the tickets, in the caller's
    transaction; the number of rows written."""
    connection.execute(delete(F))
    connection.execute(delete(N))
    connection.execute(delete(D))
    connection.execute(insert(D), calendar(zone))
    keys = "day, area, category, worker"
    parts = " UNION ALL ".join(
        f"SELECT {_day_of(moment, strict)} AS day, "
        f"{', '.join(f'{v} AS {c}' for v, c in zip(values, _columns().split(', ')[1:], strict=True))} "
        f"FROM ticket t WHERE {condition}"
        for moment, strict, condition, values in _parts("t", "1"))
    sums = ", ".join(f"SUM({c})" for c in COUNTERS)
    result = connection.execute(text(
        f"INSERT INTO ticket_figures ({_columns()}) SELECT {keys}, {sums} FROM ({parts}) AS x "
        f"WHERE day IS NOT NULL GROUP BY {keys}"))
    condition, values = _now_part("t", "1")
    sums = ", ".join(f"SUM({v})" for v in values[2:])
    connection.execute(text(f"INSERT INTO ticket_now ({_NOW_COLUMNS}) SELECT {values[0]}, {values[1]}, {sums} "
                            f"FROM ticket t WHERE {condition} GROUP BY {values[0]}, {values[1]}"))
    for table in ("figure_day", "ticket_figures", "ticket_now"):  # the planner's statistics of the new rows
        connection.execute(text(f"ANALYZE {table}"))
    return int(getattr(result, "rowcount", 0) or 0)


def zone_of(session: Session | Connection) -> str | None:
    """The zone the figures are kept in (None: never built)."""
    found = session.execute(select(D.c.zone).limit(1)).scalar()
    return str(found) if found is not None else None


def ready(session: Session, rules: Rules) -> bool:
    """The figures are kept in the rules' zone, so readers may use them."""
    return zone_of(session) == rules.timezone


def ensure(engine: Engine, rules: Rules) -> bool:
    """Rebuild the figures when they are not kept in the rules' zone; whether it did."""
    with session_scope(engine) as session:
        if ready(session, rules):
            return False
        log.info("figures: rebuilding for time zone %s", rules.timezone)
        rebuild(session, rules.timezone)
    return True


# ---- reading ----


def _where(grids: Sequence[str] | None, first: date, last: date) -> ColumnElement[bool]:
    window = and_(F.c.day >= first, F.c.day <= last)
    return window if grids is None else and_(window, F.c.area.in_(list(grids)))


def _grids(table: Any, grids: Sequence[str] | None) -> list[ColumnElement[bool]]:
    return [] if grids is None else [table.c.area.in_(list(grids))]


def now_by_grid(session: Session, grids: Sequence[str] | None) -> list[tuple[str | None, int, int, int]]:
    """(grid or None, open or claimed, held, late and not done) now; ``grids`` None: every grid and none."""
    rows = session.execute(
        select(N.c.area, func.sum(N.c.open), func.sum(N.c.held), func.sum(N.c.late_open))
        .where(*_grids(N, grids)).group_by(N.c.area)
    ).all()
    return [(area or None, int(n), int(h), int(late)) for area, n, h, late in rows]


def window_by_grid(session: Session, grids: Sequence[str] | None, first: date, last: date
                   ) -> list[tuple[str | None, int, int, int, int, int, int, int]]:
    """(grid or None, new and closed on ``last``, closed and on time in its last 7 days, closed, on time and
    reworked in ``first``..``last``)."""
    week = last - timedelta(days=6)

    def on(day: Any, column: Any) -> Any:
        return func.sum(case((day, column), else_=0))

    rows = session.execute(
        select(F.c.area, on(F.c.day == last, F.c.new), on(F.c.day == last, F.c.closed),
               on(F.c.day >= week, F.c.closed), on(F.c.day >= week, F.c.on_time), func.sum(F.c.closed),
               func.sum(F.c.on_time), func.sum(F.c.reworked))
        .where(F.c.day >= first, F.c.day <= last, *_grids(F, grids)).group_by(F.c.area)
    ).all()
    return [(area or None, *(int(v) for v in values)) for area, *values in rows]  # type: ignore[misc]


def totals(session: Session, grids: Sequence[str] | None, first: date, last: date) -> dict[str, int]:
    """The counters summed over ``first``..``last`` (``new_last``, ``closed_last``: of ``last`` alone;
    ``closed_7d``, ``on_time_7d``: its last 7 days), and ``late_change_after``: late due less late done
    after ``last`` (the overdue at its end is the late not done now less that)."""
    week = last - timedelta(days=6)

    def on(day: Any, column: Any) -> Any:
        return func.coalesce(func.sum(case((day, column), else_=0)), 0)

    inside = and_(F.c.day >= first, F.c.day <= last)
    names = ["new_last", "closed_last", "closed_7d", "on_time_7d", *COUNTERS[1:6], "late_change_after"]
    row = session.execute(
        select(on(and_(F.c.day == last), F.c.new), on(F.c.day == last, F.c.closed),
               on(and_(F.c.day >= week, F.c.day <= last), F.c.closed),
               on(and_(F.c.day >= week, F.c.day <= last), F.c.on_time),
               *(on(inside, getattr(F.c, c)) for c in COUNTERS[1:6]),
               on(F.c.day > last, F.c.late_due - F.c.late_done))
        .where(F.c.day >= first, *_grids(F, grids))
    ).one()
    return {name: int(v) for name, v in zip(names, row, strict=True)}


def by_day(session: Session, grids: Sequence[str] | None, first: date) -> list[tuple[date, int, int, int, int]]:
    """(day, new, closed, late due, late done) for each day from ``first`` on (later days too: the overdue
    trend counts back from now)."""
    rows = session.execute(
        select(F.c.day, func.sum(F.c.new), func.sum(F.c.closed), func.sum(F.c.late_due), func.sum(F.c.late_done))
        .where(F.c.day >= first, *_grids(F, grids)).group_by(F.c.day)
    ).all()
    return [(_as_date(day), int(n), int(c), int(due), int(done)) for day, n, c, due, done in rows]


def by_worker(session: Session, grids: Sequence[str] | None, first: date, last: date
              ) -> list[tuple[int, int, int, int, int]]:
    """(worker, closed, on time, rated, satisfied) for the days ``first``..``last`` (worker 0: nobody)."""
    rows = session.execute(
        select(F.c.worker, func.sum(F.c.closed), func.sum(F.c.on_time), func.sum(F.c.rated),
               func.sum(F.c.satisfied))
        .where(_where(grids, first, last), F.c.closed > 0).group_by(F.c.worker)
    ).all()
    return [(int(w), int(c), int(t), int(r), int(s)) for w, c, t, r, s in rows]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
