"""Console benchmark: p95 time of the district overview, the map and a filtered ticket list, through the
real web app (HTTP handling, queries and templates), over a large database.

``python -m benchmarks.console_bench [--tickets 1000000] [--backend sqlite|postgres|both] [--runs 20]
[--keep DIR]``

The database is sweep_bench's: 500 grids, 10 % open tickets and 90 % closed ones spread over a year,
bulk-loaded. The viewer is the district supervisor. Each page is fetched once untimed, then ``--runs``
times; the script prints the median and p95 (target: p95 < 300 ms each) and the district digest's build
time. ``cpu_p95_ms`` is the process's CPU time per request (the app runs in the benchmark's process, so on a
shared machine it shows the work done, where wall time also shows the wait for a core). It prints figures only;
it asserts nothing.

``--keep DIR`` keeps the loaded databases for the next run (a SQLite file in DIR, a PostgreSQL database
named after the ticket count; drop it with ``DROP DATABASE``): a later run with the same ``--tickets`` only
upgrades them to the latest migration and times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from benchmarks.sweep_bench import GRIDS, NOW, PG_URL, STREETS, bench_rules, database, load, time_digest
from bot.context import BotContext
from cases.db import make_engine, upgrade
from cases.models import Person
from cases.services.web_access import issue_login
from web.app import create_app
from web.config import WebConfig

SECRET = "bench-secret"
PAGES = {
    "overview": "/console?area=district",
    "map": "/console/map?area=district",
    "list": "/console/tickets?area=c7&status=claimed&sort=due",
}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def time_pages(engine: Any, rules: Any, runs: int) -> dict[str, dict[str, float]]:
    """Median and p95 milliseconds per page for the district supervisor."""
    supervisor = 2 + 2 * GRIDS + STREETS
    with Session(engine) as session:
        person = session.get(Person, supervisor)
        assert person is not None
        credential = issue_login(session, person=person, secret=SECRET, now=NOW)
        session.commit()
    config = WebConfig(engine=engine, rules=rules, ctx=BotContext.create(rules, secret=SECRET), secret=SECRET,
                       clock=lambda: NOW)
    figures: dict[str, dict[str, float]] = {}
    with TestClient(create_app(config)) as client:
        assert client.post("/login", data={"credential": credential}).status_code == 200
        for name, path in PAGES.items():
            assert client.get(path).status_code == 200, path
            timings, cpu = [], []
            for _ in range(runs):
                started, cpu_started = time.perf_counter(), time.process_time()
                response = client.get(path)
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
                assert response.status_code == 200
            figures[name] = {"median_ms": round(statistics.median(timings), 1), "p95_ms": round(_p95(timings), 1),
                             "cpu_p95_ms": round(_p95(cpu), 1)}
    return figures


@contextmanager
def kept_database(backend: str, keep: Path, tickets: int) -> Iterator[tuple[Engine, float | None]]:
    """The database kept in ``keep`` for ``tickets`` (upgraded to the latest migration), loading it first if
    it is not there yet; with the seconds the load took (None: it was kept from an earlier run)."""
    keep.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        path = keep / f"console_{tickets}.db"
        loaded: float | None = None
        if not path.exists():
            part = path.with_suffix(".part")
            part.unlink(missing_ok=True)
            engine = make_engine(f"sqlite:///{part}")
            upgrade(engine)
            loaded = load(engine, tickets)
            engine.dispose()
            part.rename(path)
        engine = make_engine(f"sqlite:///{path}")
        try:
            upgrade(engine)
            yield engine, loaded
        finally:
            engine.dispose()
        return
    import psycopg

    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"gridbot_bench_console_keep_{tickets}"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}_part"')
    engine = make_engine(make_url(PG_URL).set(database=f"{name}_part" if not exists else name)
                         .render_as_string(hide_password=False))
    loaded = None
    if not exists:
        upgrade(engine)
        loaded = load(engine, tickets)
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}_part" RENAME TO "{name}"')
        engine = make_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine, loaded
    finally:
        engine.dispose()


@contextmanager
def fresh_database(backend: str, tickets: int) -> Iterator[tuple[Engine, float | None]]:
    """A new database loaded with ``tickets``, dropped afterwards; with the seconds the load took."""
    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp), "console") as engine:
        yield engine, load(engine, tickets)


def bench(backend: str, tickets: int, runs: int, keep: Path | None) -> dict[str, Any]:
    """Load (or reuse the kept database), then time the pages and the digest."""
    rules = bench_rules()
    opened = kept_database(backend, keep, tickets) if keep else fresh_database(backend, tickets)
    with opened as (engine, loaded):
        pages = time_pages(engine, rules, runs)
        digest_s, _ = time_digest(engine, rules)
    return {"backend": backend, "tickets": tickets, "load_s": None if loaded is None else round(loaded, 1),
            "pages": pages, "district_digest_ms": round(digest_s * 1000, 1)}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", type=Path, default=None, help="keep the loaded databases here for next time")
    args = parser.parse_args()
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        print(json.dumps(bench(backend, args.tickets, args.runs, args.keep), ensure_ascii=False))


if __name__ == "__main__":
    main()
