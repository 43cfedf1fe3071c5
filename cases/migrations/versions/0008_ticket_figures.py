"""Per-day ticket figures and open counts kept by triggers (``ticket_figures``, ``ticket_now``,
``figure_day``; :mod:`cases.figures`) and a partial index of the escalated tickets, so the console's overview
and map and the digest read day rows instead of every ticket of their windows; and the ticket's Open311
``media_url`` and attribute answers (:mod:`cases.georeport`).

The figures are built here for the time zone the caller passes (``config.attributes["timezone"]``) or the
rules' default; a process whose rules name another zone rebuilds them once (:func:`cases.figures.ensure`),
and until then readers compute from the tickets as before.

The SQL of the triggers and of the first build is frozen here, as it was when this revision was written (a copy
of :mod:`cases.figures` then): editing that module must not change what this revision does to a database.
``tests/test_migrations.py`` checks that the triggers the migrations leave are the ones :mod:`cases.figures`
defines now; a change there needs a new revision that re-creates them.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import context, op

from cases.rules.schema import Rules

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COUNTERS = ("new", "closed", "on_time", "reworked", "rated", "satisfied", "late_due", "late_done")
NOW_COUNTERS = ("open", "held", "late_open")
_COLUMNS = "day, area, category, worker, " + ", ".join(COUNTERS)
_NOW_COLUMNS = "area, category, " + ", ".join(NOW_COUNTERS)
_WATCHED = ("status", "area", "category", "created_at", "closed_at", "claimed_by", "resolved_at", "resolve_by",
            "reopen_count", "rating", "paused_at", "held")
_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _WATCHED)


def _when(condition: str, sign: str = "1") -> str:
    return f"CASE WHEN {condition} THEN {sign} ELSE 0 END"


def _parts(r: str, sign: str) -> list[tuple[str, bool, str, list[str]]]:
    """Row ``r``'s contributions times ``sign``: (moment, day ends it strictly, condition, column values)."""
    on_time = f"({r}.resolve_by IS NULL OR COALESCE({r}.resolved_at, {r}.closed_at) <= {r}.resolve_by)"

    def counters(**values: str) -> list[str]:
        return [values.get(c, "0") for c in COUNTERS]

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
             rated=_when(f"{r}.rating IS NOT NULL", sign), satisfied=_when(f"{r}.rating >= 4", sign))]),
        (f"{r}.resolve_by", False, late, [*grid, "0", *counters(late_due=sign)]),
        (done, True, late, [*grid, "0", *counters(late_done=sign)]),
    ]


def _now_part(r: str, sign: str) -> tuple[str, list[str]]:
    late_open = (f"{r}.paused_at IS NULL AND {r}.resolve_by IS NOT NULL AND {r}.resolved_at IS NULL "
                 f"AND {r}.closed_at IS NULL")
    return f"{r}.status IN ('open', 'claimed')", [f"COALESCE({r}.area, '')", f"{r}.category", sign,
                                                   _when(f"{r}.held AND {r}.status = 'open'", sign),
                                                   _when(late_open, sign)]


def _upserts(r: str, sign: str) -> list[str]:
    merge = ", ".join(f"{c} = ticket_figures.{c} + excluded.{c}" for c in COUNTERS)
    out = [f"INSERT INTO ticket_figures ({_COLUMNS}) SELECT d.day, {', '.join(values)} FROM figure_day d "
           f"WHERE {condition} AND d.starts_at {'<' if strict else '<='} {moment} ORDER BY d.starts_at DESC LIMIT 1 "
           f"ON CONFLICT (day, area, category, worker) DO UPDATE SET {merge}"
           for moment, strict, condition, values in _parts(r, sign)]
    condition, values = _now_part(r, sign)
    merge = ", ".join(f"{c} = ticket_now.{c} + excluded.{c}" for c in NOW_COUNTERS)
    out.append(f"INSERT INTO ticket_now ({_NOW_COLUMNS}) SELECT {', '.join(values)} WHERE {condition} "
               f"ON CONFLICT (area, category) DO UPDATE SET {merge}")
    return out


def _create_triggers(bind: sa.Connection) -> None:
    add, take = _upserts("NEW", "1"), _upserts("OLD", "-1")
    if bind.dialect.name == "sqlite":
        for name, event, when, body in (("ins", "INSERT", "", add), ("del", "DELETE", "", take),
                                        ("upd", "UPDATE", f" WHEN {_CHANGED}", take + add)):
            bind.exec_driver_sql(f"CREATE TRIGGER ticket_figures_{name} AFTER {event} ON ticket FOR EACH ROW{when} "
                                 f"BEGIN {'; '.join(body)}; END")
        return
    bind.exec_driver_sql(
        "CREATE FUNCTION ticket_figures_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {'; '.join(take)}; END IF; "
        f"IF TG_OP <> 'DELETE' THEN {'; '.join(add)}; END IF; "
        "RETURN NULL; END $$")
    for name, event, when in (("ins", "INSERT", ""), ("del", "DELETE", ""), ("upd", "UPDATE", f" WHEN ({_CHANGED})")):
        bind.exec_driver_sql(f"CREATE TRIGGER ticket_figures_{name} AFTER {event} ON ticket FOR EACH ROW{when} "
                             "EXECUTE FUNCTION ticket_figures_keep()")


def _drop_triggers(bind: sa.Connection) -> None:
    sqlite = bind.dialect.name == "sqlite"
    for name in ("ins", "del", "upd"):
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS ticket_figures_{name}" + ("" if sqlite else " ON ticket"))
    if not sqlite:
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS ticket_figures_keep()")


def _build(bind: sa.Connection, zone: str) -> None:
    """The calendar of ``zone`` (2000–2099) and the figures of the tickets there are."""
    tz, first = ZoneInfo(zone), date(2000, 1, 1)
    days = [first + timedelta(days=i) for i in range((date(2099, 12, 31) - first).days + 1)]
    calendar = sa.table("figure_day", sa.column("day", sa.Date()), sa.column("starts_at", sa.DateTime(timezone=True)),
                        sa.column("zone", sa.String()))
    bind.execute(sa.insert(calendar), [
        {"day": d, "zone": zone, "starts_at": datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)} for d in days])
    keys = "day, area, category, worker"
    parts = " UNION ALL ".join(
        f"SELECT (SELECT d.day FROM figure_day d WHERE d.starts_at {'<' if strict else '<='} {moment} "
        f"ORDER BY d.starts_at DESC LIMIT 1) AS day, "
        f"{', '.join(f'{v} AS {c}' for v, c in zip(values, _COLUMNS.split(', ')[1:], strict=True))} "
        f"FROM ticket t WHERE {condition}"
        for moment, strict, condition, values in _parts("t", "1"))
    sums = ", ".join(f"SUM({c})" for c in COUNTERS)
    bind.execute(sa.text(f"INSERT INTO ticket_figures ({_COLUMNS}) SELECT {keys}, {sums} FROM ({parts}) AS x "
                         f"WHERE day IS NOT NULL GROUP BY {keys}"))
    condition, values = _now_part("t", "1")
    sums = ", ".join(f"SUM({v})" for v in values[2:])
    bind.execute(sa.text(f"INSERT INTO ticket_now ({_NOW_COLUMNS}) SELECT {values[0]}, {values[1]}, {sums} "
                         f"FROM ticket t WHERE {condition} GROUP BY {values[0]}, {values[1]}"))
    for table in ("figure_day", "ticket_figures", "ticket_now"):
        bind.execute(sa.text(f"ANALYZE {table}"))


def upgrade() -> None:
    """Create the tables and triggers, and build the figures of the tickets there are."""
    op.create_table(
        "figure_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("zone", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
        sa.UniqueConstraint("starts_at"),
    )
    op.create_table(
        "ticket_figures",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("worker", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS),
        sa.PrimaryKeyConstraint("day", "area", "category", "worker"),
    )
    op.create_table(
        "ticket_now",
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in NOW_COUNTERS),
        sa.PrimaryKeyConstraint("area", "category"),
    )
    op.create_index("ix_ticket_escalated", "ticket", ["status", "area", "escalation_level"],
                    sqlite_where=sa.text("escalation_level > 0"), postgresql_where=sa.text("escalation_level > 0"))
    op.add_column("ticket", sa.Column("media_url", sa.String(), nullable=True))
    op.add_column("ticket", sa.Column("service_attributes", sa.JSON(), nullable=True))
    bind = op.get_bind()
    _create_triggers(bind)
    _build(bind, context.config.attributes.get("timezone") or Rules.model_fields["timezone"].default)


def downgrade() -> None:
    """Drop the triggers and the tables."""
    _drop_triggers(op.get_bind())
    op.drop_column("ticket", "service_attributes")
    op.drop_column("ticket", "media_url")
    op.drop_index("ix_ticket_escalated", table_name="ticket")
    op.drop_table("ticket_now")
    op.drop_table("ticket_figures")
    op.drop_table("figure_day")
