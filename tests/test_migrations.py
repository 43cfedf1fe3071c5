"""Migrations from an empty database agree with the models, downgrade cleanly, and guard the history."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, SQLModel

from cases import figures
from cases.db import alembic_config, downgrade, make_engine, upgrade
from cases.rules.schema import Rules


def _seed_event(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO person (id, telegram_id, name, language, unreachable, created_at) "
                 "VALUES (1, 100, 'r', 'zh', false, :now)"), {"now": now})
        conn.execute(
            text("INSERT INTO ticket (id, status, category, priority, target, explanation, reporter_id, "
                 "chat_id, source_message_id, text, created_at, updated_at, escalation_level, "
                 "claim_reminders, warned, reopen_count, held) VALUES (1, 'open', 'water', 'normal', "
                 "'grid:g', '{}', 1, 100, 1, 'leak', :now, :now, 0, 0, false, 0, false)"), {"now": now})
        conn.execute(
            text("INSERT INTO ticket_event (id, ticket_id, at, kind, public, data) "
                 "VALUES (1, 1, :now, 'opened', true, '{}')"), {"now": now})


def test_upgrade_from_empty_matches_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, SQLModel.metadata)
            assert context.get_current_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert diff == [], f"migrations and cases/models.py disagree: {diff}"
    finally:
        engine.dispose()


def test_upgrade_is_idempotent_and_accepts_a_url(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        assert "ticket" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_downgrade_to_base_removes_everything(db_url: str, now: datetime) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        _seed_event(engine, now)
        downgrade(engine)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)  # and back up again
        assert "ticket_event" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "statement", ["UPDATE ticket_event SET note = 'rewritten'", "DELETE FROM ticket_event"]
)
def test_triggers_make_history_append_only(engine: Engine, now: datetime, statement: str) -> None:
    _seed_event(engine, now)
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), max(note) FROM ticket_event")).one() == (1, None)


def _figure_triggers(conn: Connection) -> list[str]:
    """The SQL of the figure triggers (and, on PostgreSQL, of their function) as the database keeps them."""
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                 "AND name LIKE 'ticket_figures_%' ORDER BY name"))
    else:
        rows = conn.execute(text(
            "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE t.tgname LIKE 'ticket_figures_%' "
            "UNION ALL SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.proname = 'ticket_figures_keep' "
            "ORDER BY 1"))
    return [str(row[0]) for row in rows]


def test_the_migrated_figure_triggers_are_the_ones_cases_figures_defines(engine: Engine) -> None:
    """Migration 0008 keeps its own frozen copy of the trigger SQL: when :mod:`cases.figures` changes what the
    triggers compute, this fails until a new revision re-creates them."""
    with engine.begin() as conn:
        migrated = _figure_triggers(conn)
        assert len(migrated) == (3 if conn.dialect.name == "sqlite" else 4)
        figures.drop_triggers(conn)
        assert _figure_triggers(conn) == []
        figures.create_triggers(conn)
        assert _figure_triggers(conn) == migrated, "cases/figures.py changed the triggers: add a revision for it"


def test_0008_builds_the_figures_of_the_tickets_already_there(db_url: str, now: datetime, rules: Rules) -> None:
    """The revision's frozen first build gives the rows :func:`cases.figures.rebuild` gives today."""
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0007")
        _seed_event(engine, now)
        with engine.begin() as conn:  # a second ticket, closed late and rated, held by its worker
            conn.execute(text(
                "INSERT INTO ticket (id, status, category, priority, target, explanation, reporter_id, chat_id, "
                "source_message_id, text, area, created_at, updated_at, closed_at, resolve_by, claimed_by, rating, "
                "escalation_level, claim_reminders, warned, reopen_count, held) VALUES (2, 'closed', 'road', "
                "'normal', 'grid:g', '{}', 1, 100, 2, 'hole', 'g', :now, :now, :closed, :due, 1, 5, 0, 0, false, "
                "1, false)"), {"now": now, "closed": now + timedelta(days=2), "due": now + timedelta(days=1)})
        upgrade(engine)
        tables = ("ticket_figures", "ticket_now", "figure_day")

        def contents() -> list[list[tuple[object, ...]]]:
            with engine.connect() as conn:
                return [sorted(tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}"))) for t in tables]

        built = contents()
        assert len(built[0]) >= 4 and built[1]  # new ×2, closed, late due/done … and one open ticket
        with Session(engine) as session:
            figures.rebuild(session, rules.timezone)
            session.commit()
        assert contents() == built
    finally:
        engine.dispose()
