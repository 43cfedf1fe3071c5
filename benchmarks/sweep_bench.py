"""Sweep and digest benchmark: the same 1,000 overdue tickets swept in a small and in a large database.

``python -m benchmarks.sweep_bench [--large 1000000] [--small 10000] [--backend sqlite|postgres|both]``

Both databases hold the same 1,000 overdue tickets (four such sets falling due 12 hours apart: one
for an untimed warm-up run, one per timed run, so every run escalates 1,000 fresh tickets); the large
one also holds 10 % open tickets that are not due and 90 % closed ones spread over a year, in 500
grids. Rows are bulk-loaded (COPY on PostgreSQL, one ``executemany`` transaction on SQLite). The
script prints the time to find and escalate the 1,000 tickets in each (median of 3 runs), their ratio
(target: large <= 2x small, i.e. the due query does not scan), the due query's plan and time alone,
the time to build a district digest over all grids, and how long the morning's digests hold the write
lock (all in one transaction, as before, against the bot's way now).
It prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bot.context import BotContext
from bot.notifier import TelegramNotifier
from cases.db import READ_ONLY, make_engine, session_scope, upgrade
from cases.digest import build_digest, run_digests, send_due_digests
from cases.notify import RecordingNotifier
from cases.rules.schema import Rules
from cases.sweep import run_sweep

PG_URL = os.environ.get("GRIDBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GRIDS, COMMUNITIES, STREETS = 500, 50, 10
OVERDUE = 1000
RUNS = 3  # timed runs, after one untimed warm-up run (statement compilation, caches)
SETS = RUNS + 1
SPACING = timedelta(hours=12)
NOW = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)  # a Monday morning in Shanghai
COLUMNS = ["status", "category", "priority", "area", "target", "explanation", "reporter_id", "chat_id",
           "source_message_id", "text", "created_at", "updated_at", "opened_at", "claimed_by", "claimed_at",
           "resolved_at", "closed_at", "claim_by", "resolve_by", "warn_at", "next_due_at", "escalation_level",
           "claim_reminders", "warned", "reopen_count", "held"]


def bench_rules() -> Rules:
    """A district of 10 streets, 50 communities and 500 grids; a one-step ladder (grid leader)."""
    areas: dict[str, Any] = {"district": {"kind": "district", "children": [f"s{i}" for i in range(STREETS)]}}
    per_street, per_community = COMMUNITIES // STREETS, GRIDS // COMMUNITIES
    for s in range(STREETS):
        areas[f"s{s}"] = {"kind": "street", "children": [f"c{s * per_street + i}" for i in range(per_street)]}
    for c in range(COMMUNITIES):
        areas[f"c{c}"] = {"kind": "community", "children": [f"g{c * per_community + i}" for i in range(per_community)]}
    for g in range(GRIDS):
        areas[f"g{g}"] = {"kind": "grid", "places": [f"place {g}"]}
    return Rules.model_validate({
        "timezone": "Asia/Shanghai",
        "escalation": [{"after": "0h", "notify": "grid_leader"}],
        "categories": {"other": {"name": {"zh": "其他", "en": "Other"}}},
        "areas": areas,
    })


def _row(rng: random.Random, kind: str, n: int, run: int = 0) -> tuple[Any, ...]:
    grid = f"g{rng.randrange(GRIDS)}"
    worker = 2 + GRIDS + int(grid[1:])  # people: 1 resident, 500 leaders, 500 workers, ...
    if kind == "due":  # claimed, past resolve_by; set k falls due between two sweeps, at NOW + 12k hours
        resolve_by = NOW + SPACING * run - timedelta(minutes=30 + rng.randrange(600))
        created = resolve_by - timedelta(hours=24)
        return ("claimed", "other", "normal", grid, f"grid:{grid}", "{}", 1, 1, n, "bench", created, created,
                created, worker, created + timedelta(hours=1), None, None, created + timedelta(hours=2),
                resolve_by, created + timedelta(hours=19), resolve_by, 0, 0, True, 0, False)
    if kind == "open":  # open, due later than any timed run
        created = NOW - timedelta(minutes=rng.randrange(60 * 24 * 20))
        later = NOW + timedelta(days=30)
        return ("claimed", "other", "normal", grid, f"grid:{grid}", "{}", 1, 1, n, "bench", created, created,
                created, worker, created + timedelta(hours=1), None, None, later, later, later, later,
                0, 0, False, 0, False)
    created = NOW - timedelta(minutes=rng.randrange(60 * 24 * 365))
    resolved = created + timedelta(minutes=rng.randrange(60, 60 * 40))
    closed = resolved + timedelta(days=1)
    return ("closed", "other", "normal", grid, f"grid:{grid}", "{}", 1, 1, n, "bench", created, closed,
            created, worker, created + timedelta(minutes=rng.randrange(5, 300)), resolved, closed,
            created + timedelta(hours=2), created + timedelta(hours=24), created + timedelta(hours=19), None,
            0, 0, True, 1 if rng.random() < 0.05 else 0, False)


def _rows(total: int) -> Iterator[tuple[Any, ...]]:
    """The same overdue sets in every database, then open (10 %) and closed tickets."""
    due_rng, rng = random.Random(1), random.Random(2)
    n = 0
    for run in range(SETS):
        for _ in range(OVERDUE):
            n += 1
            yield _row(due_rng, "due", n, run)
    opened = total // 10 - SETS * OVERDUE
    for i in range(total - SETS * OVERDUE):
        n += 1
        yield _row(rng, "open" if i < opened else "closed", n)


def _people(engine: Engine) -> None:
    """One resident, a leader and a worker per grid, a supervisor per street and at the district."""
    with session_scope(engine) as s:
        people = [(1, "resident")] + [(2 + g, f"leader g{g}") for g in range(GRIDS)]
        people += [(2 + GRIDS + g, f"worker g{g}") for g in range(GRIDS)]
        people += [(2 + 2 * GRIDS + i, f"supervisor s{i}") for i in range(STREETS + 1)]
        s.execute(text("INSERT INTO person (id, telegram_id, name, language, unreachable, created_at) "
                       "VALUES (:id, :tg, :name, 'zh', false, :now)"),
                  [{"id": pid, "tg": 10_000 + pid, "name": name, "now": NOW} for pid, name in people])
        roles = [(2 + g, "leader", f"g{g}") for g in range(GRIDS)]
        roles += [(2 + GRIDS + g, "worker", f"g{g}") for g in range(GRIDS)]
        roles += [(2 + 2 * GRIDS + i, "supervisor", f"s{i}") for i in range(STREETS)]
        roles += [(2 + 2 * GRIDS + STREETS, "supervisor", "district")]
        s.execute(text("INSERT INTO role_assignment (person_id, role, scope, created_at) "
                       "VALUES (:p, :r, :s, :now)"),
                  [{"p": p, "r": r, "s": sc, "now": NOW} for p, r, sc in roles])
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT setval('person_id_seq', (SELECT max(id) FROM person))"))


def _sqlite_value(value: Any) -> Any:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


def load(engine: Engine, total: int) -> float:
    """Bulk-load ``total`` tickets; the seconds it took."""
    started = time.perf_counter()
    _people(engine)
    raw = engine.raw_connection()
    try:
        dbapi: Any = raw.driver_connection
        if engine.dialect.name == "postgresql":
            with dbapi.cursor() as cursor, cursor.copy(f"COPY ticket ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in _rows(total):
                    copy.write_row(row)
            dbapi.commit()
            with dbapi.cursor() as cursor:
                dbapi.autocommit = True
                cursor.execute("VACUUM ANALYZE ticket")
                dbapi.autocommit = False
        else:
            marks = ", ".join("?" for _ in COLUMNS)
            cursor = dbapi.cursor()
            cursor.execute("BEGIN")
            cursor.executemany(f"INSERT INTO ticket ({', '.join(COLUMNS)}) VALUES ({marks})",
                               ([_sqlite_value(v) for v in row] for row in _rows(total)))
            cursor.execute("COMMIT")
            cursor.execute("ANALYZE")
    finally:
        raw.close()
    return time.perf_counter() - started


def due_plan(engine: Engine) -> str:
    """The query plan of the sweep's due query, one line."""
    query = ("SELECT id FROM ticket WHERE status IN ('draft','open','claimed','resolved') "
             "AND next_due_at <= :now ORDER BY next_due_at, id LIMIT 500")
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(text("EXPLAIN " + query), {"now": NOW}).scalars().all()
            return " | ".join(str(r).strip() for r in rows[:4])
        rows = conn.execute(text("EXPLAIN QUERY PLAN " + query), {"now": _sqlite_value(NOW)}).all()
        return " | ".join(str(r[-1]) for r in rows)


def time_find(engine: Engine, at: datetime) -> float:
    """Median seconds of the due query alone (what the sweep reads first)."""
    query = text("SELECT id, next_due_at FROM ticket WHERE status IN ('draft','open','claimed','resolved') "
                 "AND next_due_at <= :now ORDER BY next_due_at, id LIMIT 500")
    timings = []
    with engine.connect() as conn:
        for _ in range(5):
            started = time.perf_counter()
            conn.execute(query, {"now": at if engine.dialect.name == "postgresql" else _sqlite_value(at)}).all()
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def time_sweeps(engine: Engine, rules: Rules) -> tuple[float, list[float], int]:
    """Seconds of the warm-up run and of each timed run, each finding and escalating a fresh set of
    1,000 overdue tickets (committed); how many were escalated in the timed runs."""
    timings, escalated = [], 0
    for run in range(SETS):
        started = time.perf_counter()
        with session_scope(engine) as s:
            report = run_sweep(s, rules=rules, notifier=RecordingNotifier(), now=NOW + SPACING * run,
                               digests=False)
        timings.append(time.perf_counter() - started)
        if run:
            escalated += report.counts().get("escalated", 0)
    return timings[0], timings[1:], escalated


def time_digest(engine: Engine, rules: Rules) -> tuple[float, int]:
    """Seconds to build the district digest; its overdue count."""
    started = time.perf_counter()
    with Session(engine) as s:
        digest = build_digest(s, rules=rules, area=rules.root, day=(NOW - timedelta(days=1)).date(), now=NOW)
    return time.perf_counter() - started, digest.overdue


class WriteTimer:
    """The durations of the write transactions committed or rolled back on an engine (read-only ones,
    :func:`cases.db.read_scope`, are left out): how long others waited for the write lock at worst."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.durations = engine, []
        self._began: dict[int, float] = {}

    def __enter__(self) -> WriteTimer:
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "commit", self._end)
        event.listen(self.engine, "rollback", self._end)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "commit", self._end)
        event.remove(self.engine, "rollback", self._end)

    def _begin(self, conn: Any) -> None:
        if not conn.get_execution_options().get(READ_ONLY):
            self._began[id(conn)] = time.perf_counter()

    def _end(self, conn: Any) -> None:
        began = self._began.pop(id(conn), None)
        if began is not None:
            self.durations.append(time.perf_counter() - began)


def time_digest_morning(engine: Engine, rules: Rules) -> dict[str, Any]:
    """The morning's digests with the bot's own notifier (text and chart into the outbox), twice: all in
    one write transaction as ``gridbot sweep`` once did, then as the bot does now
    (:func:`cases.digest.send_due_digests`); the longest write transaction of each, in seconds."""
    notifier = TelegramNotifier(BotContext.create(rules, secret="bench"))
    at = NOW + timedelta(hours=1)  # 09:00 in Shanghai: digests are due
    figures: dict[str, Any] = {}
    for way in ("one_transaction", "short_transactions"):
        with session_scope(engine) as s:  # start each way from the same state
            s.execute(text("DELETE FROM digest_log"))
            s.execute(text("DELETE FROM outbox_message"))
        started = time.perf_counter()
        with WriteTimer(engine) as timer:
            if way == "one_transaction":
                with session_scope(engine) as s:
                    sent = run_digests(s, rules=rules, notifier=notifier, now=at)
            else:
                sent = send_due_digests(engine, rules=rules, notifier=notifier, now=at,
                                        prepare=notifier.prepare_digests)
        figures[f"{way}_s"] = round(time.perf_counter() - started, 2)
        figures[f"{way}_longest_write_s"] = round(max(timer.durations), 3)
        figures["digests"] = len(sent)
    return figures


@contextmanager
def database(backend: str, workdir: Path, label: str) -> Iterator[Engine]:
    """A fresh migrated database (a SQLite file, or a PostgreSQL database dropped afterwards)."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{workdir / (label + '.db')}")
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    import psycopg

    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"gridbot_bench_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench(backend: str, small: int, large: int) -> dict[str, Any]:
    """Load both databases, sweep each, build the digest; return the figures."""
    rules = bench_rules()
    figures: dict[str, Any] = {"backend": backend}
    with tempfile.TemporaryDirectory() as tmp, \
            database(backend, Path(tmp), "small") as small_db, database(backend, Path(tmp), "large") as large_db:
        for label, engine, total in (("small", small_db, small), ("large", large_db, large)):
            figures[f"{label}_tickets"] = total
            figures[f"{label}_load_s"] = round(load(engine, total), 2)
            print(f"[{backend}] loaded {total:,} tickets in {figures[f'{label}_load_s']} s", flush=True)
        figures["plan"] = due_plan(large_db)
        for label, engine in (("small", small_db), ("large", large_db)):
            figures[f"{label}_find_ms"] = round(time_find(engine, NOW + SPACING) * 1000, 2)
        for label, engine in (("small", small_db), ("large", large_db)):
            warmup, timings, escalated = time_sweeps(engine, rules)
            figures[f"{label}_warmup_s"] = round(warmup, 3)
            figures[f"{label}_sweep_s"] = round(statistics.median(timings), 3)
            figures[f"{label}_sweep_runs_s"] = [round(t, 3) for t in timings]
            figures[f"{label}_escalated"] = escalated
        figures["ratio_large_to_small"] = round(figures["large_sweep_s"] / figures["small_sweep_s"], 2)
        for label, engine in (("small", small_db), ("large", large_db)):
            seconds, overdue = time_digest(engine, rules)
            figures[f"{label}_digest_s"] = round(seconds, 2)
            figures[f"{label}_digest_overdue"] = overdue
        figures["morning"] = time_digest_morning(large_db, rules)
    return figures


def report(figures: dict[str, Any]) -> None:
    """Print one backend's figures side by side."""
    b = figures["backend"]
    print(f"\n== {b}: find and escalate {OVERDUE:,} overdue tickets (median of {RUNS} runs, each a fresh set) ==")
    for label in ("small", "large"):
        print(f"  {label}  {figures[f'{label}_tickets']:>9,} tickets: {figures[f'{label}_sweep_s'] * 1000:8.1f} ms "
              f"(runs {figures[f'{label}_sweep_runs_s']} s, escalated {figures[f'{label}_escalated']}; "
              f"cold first run {figures[f'{label}_warmup_s']} s; due query alone {figures[f'{label}_find_ms']} ms)")
    print(f"  ratio large/small: {figures['ratio_large_to_small']} (target <= 2)")
    print(f"  due-query plan: {figures['plan']}")
    print(f"  district digest over {GRIDS} grids: small {figures['small_digest_s']} s, "
          f"large ({figures['large_tickets']:,} tickets) {figures['large_digest_s']} s")
    m = figures["morning"]
    print(f"  the morning's {m['digests']} digests (texts and charts queued), large database: all in one write "
          f"transaction {m['one_transaction_s']} s, holding the write lock {m['one_transaction_longest_write_s']} s; "
          f"built outside it and queued in batches {m['short_transactions_s']} s, longest write "
          f"{m['short_transactions_longest_write_s'] * 1000:.0f} ms")


def _pg_available() -> bool:
    try:
        import psycopg

        admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, connect_timeout=3):
            return True
    except Exception:
        return False


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--large", type=int, default=1_000_000, help="tickets in the large database")
    parser.add_argument("--small", type=int, default=10_000, help="tickets in the small database")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    if "postgres" in backends and not _pg_available():
        print(f"PostgreSQL at {PG_URL} is unreachable; skipping it")
        backends.remove("postgres")
    results = [bench(backend, args.small, args.large) for backend in backends]
    for figures in results:
        report(figures)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
