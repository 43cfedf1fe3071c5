"""Engines, transactions and the ORM guard on ticket history."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from cases.db import AppendOnlyError, make_engine, normalize_url, read_scope, session_scope, upgrade
from cases.models import Person, Ticket, TicketEvent


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://h/db", "postgresql+psycopg://h/db"),
        ("postgresql+psycopg://h/db", "postgresql+psycopg://h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_postgres_urls_use_psycopg() -> None:
    engine = make_engine("postgres://nobody@127.0.0.1:1/none")
    assert engine.dialect.driver == "psycopg"


def test_sqlite_pragmas(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()


def test_concurrent_sqlite_writers_never_see_database_is_locked(sqlite_url: str, now: datetime) -> None:
    engine = make_engine(sqlite_url, pool_size=20)
    upgrade(engine)
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(10):
                with session_scope(engine) as s:
                    # Read first, then write: the pattern that deadlocks with deferred transactions.
                    s.exec(select(Person)).all()
                    s.add(Person(telegram_id=n * 1000 + i, name=f"p{n}-{i}", created_at=now))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(engine) as s:
        assert len(s.exec(select(Person)).all()) == 200
    engine.dispose()


def test_session_scope_commits_and_rolls_back(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as s:
        s.add(Person(telegram_id=1, name="kept", created_at=now))
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        s.add(Person(telegram_id=2, name="dropped", created_at=now))
        s.flush()
        raise RuntimeError("boom")
    with session_scope(engine) as s:
        names = [p.name for p in s.exec(select(Person)).all()]
    assert names == ["kept"]


def test_read_scope_reads_the_last_commit_while_a_writer_holds_the_lock(sqlite_url: str, now: datetime) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with session_scope(engine) as s:
        s.add(Person(telegram_id=1, name="committed", created_at=now))
    writing, release = threading.Event(), threading.Event()

    def writer() -> None:
        with session_scope(engine) as s:  # BEGIN IMMEDIATE: the write lock, held until release
            s.add(Person(telegram_id=2, name="uncommitted", created_at=now))
            s.flush()
            writing.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(10)
        with read_scope(engine) as s:  # would wait 30 s (busy timeout) if it asked for the write lock
            names = [p.name for p in s.exec(select(Person)).all()]
        assert names == ["committed"]
    finally:
        release.set()
        thread.join()
    with read_scope(engine) as s:
        assert len(s.exec(select(Person)).all()) == 2
    engine.dispose()


def test_foreign_keys_are_enforced(engine: Engine, now: datetime) -> None:
    with pytest.raises(Exception, match=r"(?i)foreign key"), session_scope(engine) as s:
        s.add(TicketEvent(ticket_id=999, at=now, kind="opened"))


def _ticket_with_event(engine: Engine, now: datetime) -> int:
    with session_scope(engine) as s:
        person = Person(telegram_id=5, name="r", created_at=now)
        s.add(person)
        s.flush()
        assert person.id is not None
        ticket = Ticket(category="water", reporter_id=person.id, chat_id=5, source_message_id=1,
                        created_at=now, updated_at=now)
        s.add(ticket)
        s.flush()
        assert ticket.id is not None
        event = TicketEvent(ticket_id=ticket.id, at=now, kind="opened")
        s.add(event)
        s.flush()
        assert event.id is not None
        return event.id


def test_orm_refuses_to_update_events(engine: Engine, now: datetime) -> None:
    event_id = _ticket_with_event(engine, now)
    with pytest.raises(AppendOnlyError, match="append-only"), session_scope(engine) as s:
        event = s.get(TicketEvent, event_id)
        assert event is not None
        event.note = "rewritten"
    with session_scope(engine) as s:
        assert s.exec(text("SELECT note FROM ticket_event")).scalar() is None  # type: ignore[call-overload]


def test_orm_refuses_to_delete_events(engine: Engine, now: datetime) -> None:
    event_id = _ticket_with_event(engine, now)
    with pytest.raises(AppendOnlyError), session_scope(engine) as s:
        s.delete(s.get(TicketEvent, event_id))
    with session_scope(engine) as s:
        assert s.get(TicketEvent, event_id) is not None
