"""Engines, transactions and schema upgrades for SQLite (the default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, CursorResult, Engine, Table, create_engine, event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from cases.models import TicketEvent

T = TypeVar("T")

DEFAULT_URL = "sqlite:///gridbot.db"
BUSY_TIMEOUT_SECONDS = 30
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def normalize_url(url: str) -> str:
    """Point ``postgres://`` and ``postgresql://`` URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str = DEFAULT_URL, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite gets WAL, a busy timeout, foreign keys and ``BEGIN IMMEDIATE``."""
    url = normalize_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS}
    connect_args.update(kwargs.pop("connect_args", {}))
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    in_memory = make_url(url).database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (the documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: waiting writers queue on busy_timeout instead of failing
        # with "database is locked" when they upgrade a read lock later. Readers (read_scope) need no
        # lock: in WAL mode they see the last commit and never block a writer.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

    _WRITE_LOCKS[engine] = threading.RLock()
    return engine


# SQLite lets one writer in at a time and makes the others sleep-and-retry (busy_timeout), which wastes
# up to 100 ms per collision. Threads of one process queue on this lock instead and are handed the
# database the moment it is free. Other processes still meet SQLite's own locking.
_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


COMMIT_GUARD: ContextVar[Callable[[Session], None] | None] = ContextVar("gridbot_commit_guard", default=None)
"""Checked inside every :func:`session_scope` transaction just before it commits, in the context that set it
(leader work sets :func:`cases.leader.fence`; ``asyncio.to_thread`` carries it into worker threads). It
raises to roll the transaction back."""


@contextmanager
def unguarded() -> Iterator[None]:
    """Run without the commit guard (for recording facts that hold whoever leads, e.g. a delivered message)."""
    token = COMMIT_GUARD.set(None)
    try:
        yield
    finally:
        COMMIT_GUARD.reset(token)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error. Objects stay usable after commit.

    A :data:`COMMIT_GUARD` set in this context is checked in the transaction before it commits."""
    lock = _WRITE_LOCKS.get(engine)
    with lock if lock is not None else contextlib.nullcontext():
        session = Session(engine, expire_on_commit=False)
        try:
            yield session
            guard = COMMIT_GUARD.get()
            if guard is not None:
                guard(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def core_connection(session: Session) -> Connection:
    """The session's connection, for a Core statement on a hot path (no ORM execution layer, no ORM objects),
    with the session's pending changes flushed first when it autoflushes, as the ORM's own read would: the
    statement sees everything done earlier in the transaction."""
    if session.autoflush:
        session.flush()
    return session.connection()


def built_as_loaded(model: type[T], values: Mapping[Any, Any]) -> T:
    """A transient ``model`` instance holding ``values``, built the way the ORM builds a loaded row (a bare
    instance, its attributes set at once): sqlmodel's constructor and attribute assignments go through pydantic
    and the ORM's attribute events field by field (about 0.2 ms for a ticket). Give it to
    :func:`attach_as_loaded` once ``values`` hold its primary key."""
    instance: T = manager_of_class(model).new_instance()
    instance.__dict__.update(values)
    return instance


def attach_as_loaded(session: Session, instance: object) -> None:
    """Attach an instance of :func:`built_as_loaded` to ``session`` as if the session had just read it: its
    values are the loaded state (nothing to write for them), and later changes to it are flushed."""
    make_transient_to_detached(instance)
    session.add(instance)


READ_ONLY = "gridbot_read_only"


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A transaction that only reads: on SQLite it takes no write lock and waits for no writer.

    Writing inside it is a bug (on SQLite the write would have to upgrade its lock and may fail).
    """
    with Session(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False) as session:
        yield session  # closing the session ends (rolls back) the read transaction


def insert_ignoring(table: Table, *, conflict: list[str], returning: ColumnElement[Any]) -> dict[str, Insert]:
    """``INSERT ... ON CONFLICT (conflict) DO NOTHING RETURNING returning``, prepared once per dialect that
    has it (PostgreSQL, SQLite); execute it with the row's values as parameters. It returns a row only when
    the insert happened, and it is safe against a concurrent transaction inserting the same key."""
    return {name: insert(table).on_conflict_do_nothing(index_elements=conflict).returning(returning)
            for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}


def insert_if_new(session: Session, prepared: dict[str, Insert], table: Table, values: dict[str, Any]) -> bool:
    """Insert one row with a statement from :func:`insert_ignoring`; False if its key already existed.
    On other databases a savepoint and the unique violation decide."""
    statement = prepared.get(session.get_bind().dialect.name)
    if statement is not None:
        return session.execute(statement, values).first() is not None
    try:
        with session.begin_nested():
            session.execute(table.insert().values(**values))
    except IntegrityError:
        return False
    return True


def rowcount(result: object) -> int:
    """How many rows an UPDATE or DELETE touched (0 for a result that does not say)."""
    return result.rowcount if isinstance(result, CursorResult) else 0


def count_rows(session: Session, table: Any, *conditions: ColumnElement[bool]) -> int:
    """``SELECT count(*) FROM table WHERE conditions``."""
    return int(session.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one())


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at the migrations shipped inside the package."""
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision`` (the latest by default)."""
    _run(engine_or_url, lambda config: command.upgrade(config, revision))


def schema_revisions(engine: Engine) -> tuple[set[str], set[str]]:
    """(the migrations the database is at, the latest ones shipped). Only reads: creates nothing."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current, heads


def downgrade(engine_or_url: Engine | str, revision: str = "base") -> None:
    """Undo migrations down to ``revision`` (everything by default)."""
    _run(engine_or_url, lambda config: command.downgrade(config, revision))


def _run(engine_or_url: Engine | str, action: Callable[[Config], object]) -> None:
    """Run an Alembic ``action`` in one transaction (one migrator at a time on PostgreSQL); an engine made
    here from a URL is disposed of afterwards."""
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        config = alembic_config()
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Several bot processes may start at once: migrate one at a time.
                connection.execute(text("SELECT pg_advisory_xact_lock(7243001)"))
            config.attributes["connection"] = connection
            action(config)
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete a ticket event."""


@event.listens_for(OrmSession, "before_flush")
def _ticket_events_are_append_only(session: OrmSession, _context: Any, _instances: Any) -> None:
    """ORM guard: ticket events are history and are never updated or deleted."""
    for obj in session.deleted:
        if isinstance(obj, TicketEvent):
            raise AppendOnlyError(f"ticket event {obj.id} cannot be deleted: the history is append-only")
    for obj in session.dirty:
        if isinstance(obj, TicketEvent) and session.is_modified(obj):
            raise AppendOnlyError(f"ticket event {obj.id} cannot be changed: the history is append-only")
