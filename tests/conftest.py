"""Shared fixtures: rules, a fixed ``now``, and migrated databases on SQLite and PostgreSQL.

PostgreSQL tests use ``GRIDBOT_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
each test gets a fresh database. When the server is unreachable those tests are skipped, unless
``GRIDBOT_REQUIRE_PG=1`` makes that a failure.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from cases.rules.schema import Rules

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("GRIDBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("GRIDBOT_REQUIRE_PG") == "1"
# Trained routing models are cached here (once per content hash), not in the user's home.
os.environ.setdefault("GRIDBOT_CACHE_DIR", str(ROOT / ".pytest_cache" / "gridbot"))
os.environ["GRIDBOT_LANG"] = "en"  # tests that read the command line's output read English, whatever the locale

# Used only until the bundled routing_rules.yaml and its loader exist.
_FALLBACK_RULES: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "categories": {
        "water": {"name": {"zh": "供水漏水", "en": "Water leak"}, "keywords": ["水管", "leak"],
                  "resolve_within": "4h", "priority": "urgent"},
        "gas": {"name": {"zh": "燃气", "en": "Gas"}, "keywords": ["燃气", "gas leak"],
                "resolve_within": "1h", "claim_within": "15m", "priority": "emergency"},
        "other": {"name": {"zh": "其他", "en": "Other"}},
    },
    "areas": {
        "wuling": {"kind": "district", "children": ["furong", "nanping"]},
        "furong": {"kind": "street", "children": ["taizimiao"]},
        "nanping": {"kind": "street", "children": ["qiaonan"]},
        "taizimiao": {"kind": "community", "children": ["taizimiao-1", "taizimiao-2"]},
        "qiaonan": {"kind": "community", "children": ["qiaonan-1"]},
        "taizimiao-1": {"kind": "grid", "places": ["太子庙"]},
        "taizimiao-2": {"kind": "grid", "places": ["金鹗小区"]},
        "qiaonan-1": {"kind": "grid", "places": ["桥南"]},
    },
    "teams": {"gas-company": {"name": {"zh": "燃气公司", "en": "Gas company"}}},
    "routes": [{"category": "gas", "to": "team:gas-company"}, {"to": "grid"}],
}


@pytest.fixture(scope="session")
def rules() -> Rules:
    """The bundled ``routing_rules.yaml`` (a small inline district until it and its loader exist)."""
    path = ROOT / "routing_rules.yaml"
    try:
        from cases.rules.loader import load_rules
    except ImportError:
        return Rules.model_validate(_FALLBACK_RULES)
    if not path.exists():
        return Rules.model_validate(_FALLBACK_RULES)
    return load_rules(path)


@pytest.fixture
def now() -> datetime:
    """A fixed, timezone-aware moment: Monday 2025-03-03 09:00 in Shanghai."""
    return datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'gridbot.db'}"


@cache
def _pg_problem() -> str | None:
    """Why PostgreSQL can't be used (None when it can)."""
    import psycopg

    try:
        with psycopg.connect(_libpq(PG_URL), connect_timeout=3):
            return None
    except Exception as exc:  # any failure means "unreachable" here
        return f"PostgreSQL at {PG_URL} is unreachable ({exc.__class__.__name__}: {exc})".strip()


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as a plain libpq connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database for this test, dropped afterwards: empty, or, when the test also uses the
    ``engine`` fixture, created straight from the migrated template (not created empty and then replaced)."""
    import psycopg

    problem = _pg_problem()
    if problem:
        if REQUIRE_PG:
            pytest.fail(f"{problem}; GRIDBOT_REQUIRE_PG=1 makes PostgreSQL mandatory")
        pytest.skip(f"{problem}; set GRIDBOT_TEST_PG_URL to run PostgreSQL tests")
    name = f"gridbot_t_{uuid.uuid4().hex[:12]}"
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    template = _template_of("postgresql", "migrated") if "engine" in request.fixturenames else None
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    if template:
        _COPIED[url] = template
    try:
        yield url
    finally:
        with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database URL, once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to the latest schema (both backends): a copy of one database the
    migrations built at the session's first use (the chain itself is tested in test_migrations.py), since
    running every migration for each of a thousand tests took minutes."""
    from cases.db import make_engine

    migrated_copy(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


_TEMPLATES: dict[tuple[str, str], str] = {}
_COPIED: dict[str, str] = {}
"""Database URL -> the template it is a copy of (PostgreSQL databases are created from theirs at once)."""


def migrated_copy(url: str, key: str = "migrated", fill: Callable[[Engine], None] | None = None) -> None:
    """Make the empty database at ``url`` a copy of a template: the migrated database, or (``key``) the migrated
    database that ``fill`` then filled, each built once per session and backend."""
    template = _template_of(make_url(url).get_backend_name(), key, fill)
    if _COPIED.get(url) != template:
        _copy(template, url)
        _COPIED[url] = template


def _template_of(backend: str, key: str, fill: Callable[[Engine], None] | None = None) -> str:
    """The template database of ``backend`` and ``key``, built at first use."""
    template = _TEMPLATES.get((backend, key))
    if template is None:
        template = _TEMPLATES[(backend, key)] = _template(backend, key, fill)
    return template


def _template(backend: str, key: str, fill: Callable[[Engine], None] | None) -> str:
    """Build a template database (a SQLite file, a PostgreSQL database name); removed when the session ends."""
    from cases.db import make_engine, upgrade

    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="gridbot-template-"))
        atexit.register(shutil.rmtree, folder, True)
        template, url = str(folder / f"{key}.db"), f"sqlite:///{folder / f'{key}.db'}"
    else:
        template = f"gridbot_template_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{template}"')
        atexit.register(_pg_admin, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        url = make_url(PG_URL).set(database=template).render_as_string(hide_password=False)
    if key == "migrated":
        eng = make_engine(url)
        upgrade(eng)
    else:
        migrated_copy(url)
        eng = make_engine(url)
    if fill is not None:
        fill(eng)
    eng.dispose()
    if backend == "sqlite":  # the file alone is the database
        with contextlib.closing(sqlite3.connect(template, isolation_level=None)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return template


def _copy(template: str, url: str) -> None:
    target = make_url(url)
    if target.get_backend_name() == "sqlite":
        assert target.database and not Path(target.database).exists(), url
        shutil.copyfile(template, target.database)
        return
    _pg_admin(f'DROP DATABASE "{target.database}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{target.database}" TEMPLATE "{template}"')


def _pg_admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on ``engine``; the test commits when it wants to."""
    with Session(engine, expire_on_commit=False) as s:
        yield s
