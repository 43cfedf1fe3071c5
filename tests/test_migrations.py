"""Migrations from an empty database agree with the models, downgrade cleanly, and guard the history."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DatabaseError
from sqlmodel import SQLModel

from cases.db import downgrade, make_engine, upgrade


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
            assert context.get_current_revision() == "0007"
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
