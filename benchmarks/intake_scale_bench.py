"""Intake at 10k and at 1M pre-existing tickets: the same burst, on SQLite and PostgreSQL, side by side.

``python -m benchmarks.intake_scale_bench [--small 10000] [--large 1000000] [--backend sqlite|postgres|both]
[--runs 3] [--messages 1000] [--users 200]``

Each database is loaded in bulk (COPY on PostgreSQL, one ``executemany`` transaction on SQLite) with
tickets spread over the last year in the bundled rules' 12 grids and categories, those of the last 90
days (what retention keeps) with one sent outbox row each; tickets older than a week are closed, newer
ones open, claimed or resolved. Their reporters are the residents the benchmark then writes as (worst
case for the flood check: each has a year of history). SQLite gets no ``ANALYZE`` (the bot never runs
it); PostgreSQL gets the ``VACUUM ANALYZE`` autovacuum would have run. ``--schema 0002`` measures the
schema before the intake indexes (migration 0006).

Then, ``--runs`` times, the two sizes alternately: the intake burst of ``benchmarks.intake_bench``
(1,000 reports from 200 residents, new residents each run, the emulator in its own process), and the
per-report queries whose cost could grow with history, timed alone (median of 200) with their plans.
It prints figures only (target: the large database within 20 % of the small one); it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from benchmarks.drivers import ProcessDriver
from benchmarks.intake_bench import COMMITTED, DELIVERED, FIRST_RESIDENT, PLACES, ROOT, TOKEN, Row, _gridbot
from benchmarks.sweep_bench import _pg_available, _sqlite_value, database
from cases.db import READ_ONLY, downgrade
from cases.retention import DEFAULT_KEEP_DAYS
from cases.rules.loader import load_rules

TICKET_COLUMNS = ["status", "category", "priority", "area", "target", "explanation", "reporter_id", "chat_id",
                  "source_message_id", "text", "created_at", "updated_at", "opened_at", "claim_by", "resolve_by",
                  "closed_at", "next_due_at", "escalation_level", "claim_reminders", "warned", "reopen_count", "held"]
OUTBOX_COLUMNS = ["chat_id", "method", "payload", "purpose", "ticket_id", "created_at", "not_before", "attempts",
                  "sent_at", "result_message_id"]
DUPLICATE = ("SELECT id FROM ticket WHERE area = :area AND status IN ('open', 'claimed') AND category = :category "
             "AND id != 0 AND created_at >= :since AND created_at <= :until ORDER BY id DESC LIMIT 1")
FLOOD = "SELECT count(*) FROM ticket WHERE reporter_id = :reporter AND created_at > :since"
DUE = ("SELECT id FROM outbox_message WHERE sent_at IS NULL AND failed_at IS NULL AND not_before <= :now "
       "ORDER BY id LIMIT 100")


def _tickets(total: int, reporters: list[tuple[int, int]], categories: list[str], now: datetime,
             ) -> Iterator[tuple[Any, ...]]:
    """``total`` tickets over the year before ``now``; reporters are ``(person_id, telegram_id)``."""
    rng = random.Random(11)
    grids = list(PLACES)
    later = now + timedelta(days=30)  # never due during the benchmark (the sweep stays idle)
    for n in range(total):
        person, chat = reporters[n % len(reporters)]
        grid, category = grids[rng.randrange(len(grids))], categories[rng.randrange(len(categories))]
        created = now - timedelta(seconds=rng.randrange(365 * 86400))
        if now - created > timedelta(days=7):
            status, closed, due = "closed", created + timedelta(days=2), None
        else:
            status, closed, due = rng.choice(("open", "claimed", "resolved")), None, later
        yield (status, category, "normal", grid, f"grid:{grid}", "{}", person, chat, 1_000_000_000 + n, "history",
               created, closed or created, created, later, later, closed, due, 0, 0, False, 0, False)


def _outbox(total: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    """One sent outbox row per ticket of the last 90 days (retention's default keeps no older ones)."""
    rng = random.Random(12)
    for n in range(total * DEFAULT_KEEP_DAYS // 365):
        created = now - timedelta(seconds=rng.randrange(DEFAULT_KEEP_DAYS * 86400))
        yield (FIRST_RESIDENT + n % 1000, "sendMessage", '{"text": "history"}', "ack", n + 1, created, created, 1,
               created, n + 1)


def load(engine: Engine, total: int, residents: list[int], categories: list[str], now: datetime) -> float:
    """The residents as people, then ``total`` tickets and outbox rows in bulk; the seconds it took."""
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO person (telegram_id, name, language, unreachable, created_at) "
                          "VALUES (:tg, :name, 'zh', false, :now)"),
                     [{"tg": tg, "name": f"居民{tg}", "now": now} for tg in residents])
        reporters = [(int(pid), int(tg)) for pid, tg in conn.execute(text("SELECT id, telegram_id FROM person"))]
    raw = engine.raw_connection()
    try:
        dbapi: Any = raw.driver_connection
        tables = (("ticket", TICKET_COLUMNS, _tickets(total, reporters, categories, now)),
                  ("outbox_message", OUTBOX_COLUMNS, _outbox(total, now)))
        if engine.dialect.name == "postgresql":
            for table, columns, rows in tables:
                with dbapi.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            dbapi.commit()
            dbapi.autocommit = True
            with dbapi.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")  # what autovacuum would have done after a year
            dbapi.autocommit = False
        else:
            cursor = dbapi.cursor()
            cursor.execute("BEGIN")
            for table, columns, rows in tables:
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                   ([_sqlite_value(v) for v in row] for row in rows))
            cursor.execute("COMMIT")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # a long-running database has no huge WAL
    finally:
        raw.close()
    return time.perf_counter() - started


def _plan(engine: Engine, query: str, params: dict[str, Any]) -> str:
    with engine.execution_options(**{READ_ONLY: True}).connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(text("EXPLAIN " + query), params).scalars().all()
            return " | ".join(str(r).strip() for r in rows[:3])
        return " | ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + query), params))


def time_queries(engine: Engine, reporter: int, categories: list[str], now: datetime) -> dict[str, tuple[float, str]]:
    """Median milliseconds and plan of each per-report query whose cost could grow with history."""
    def ts(value: datetime) -> Any:
        return value if engine.dialect.name == "postgresql" else _sqlite_value(value)

    queries = {
        "possible duplicate": (DUPLICATE, {"area": next(iter(PLACES)), "category": categories[0],
                                           "since": ts(now - timedelta(hours=48)), "until": ts(now)}),
        "flood count": (FLOOD, {"reporter": reporter, "since": ts(now - timedelta(hours=1))}),
        "outbox due": (DUE, {"now": ts(now)}),
    }
    figures = {}
    with engine.execution_options(**{READ_ONLY: True}).connect() as conn:
        for name, (query, params) in queries.items():
            statement = text(query)
            timings = []
            for _ in range(200):
                started = time.perf_counter()
                conn.execute(statement, params).all()
                timings.append(time.perf_counter() - started)
            figures[name] = (statistics.median(timings) * 1000, "")
    return {name: (ms, _plan(engine, queries[name][0], queries[name][1])) for name, (ms, _) in figures.items()}


def _spread(values: list[float], fmt: str = ".1f") -> str:
    return "/".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def bench(backend: str, sizes: tuple[int, int], runs: int, n_messages: int, n_users: int,
          deadline: float = 600, schema: str | None = None) -> list[str]:
    """Load both sizes, run the burst ``runs`` times alternately; the lines to print. ``schema``: an older
    revision to measure instead of the latest (``0002``: before the intake indexes)."""
    rules = load_rules(ROOT / "routing_rules.yaml")
    categories = [c for c in rules.categories if c != "other"]
    now = datetime.now(UTC)
    residents = [FIRST_RESIDENT + i for i in range(runs * n_users)]
    lines = [f"{backend}" + (f", schema at revision {schema}:" if schema else ":")]
    results: dict[int, list[list[Row]]] = {size: [] for size in sizes}
    queries: dict[int, dict[str, tuple[float, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="gridbot-scale-") as tmp, \
            database(backend, Path(tmp), "small") as small, database(backend, Path(tmp), "large") as large:
        engines = dict(zip(sizes, (small, large), strict=True))
        for size, engine in engines.items():
            if schema:
                downgrade(engine, schema)
            seconds = load(engine, size, residents, categories, now)
            lines.append(f"  loaded {size:,} tickets (and the outbox rows retention keeps) in {seconds:.1f} s")
            queries[size] = time_queries(engine, 1, categories, now)
        for run in range(runs):
            for size, engine in engines.items():
                url = engine.url.render_as_string(hide_password=False)
                with engine.begin() as conn:  # each emulator numbers its updates from 1 again
                    conn.execute(text("DELETE FROM inbox_update"))
                with ProcessDriver(TOKEN) as emu:
                    results[size].append(asyncio.run(_gridbot(
                        emu, url, n_messages, n_users, telegram_limits=False, deadline=deadline,
                        first_resident=FIRST_RESIDENT + run * n_users)))
    small_size, large_size = sizes
    lines.append(f"  {'per run (min/median/max over ' + str(runs) + ')':<34} {small_size:>20,} {large_size:>20,} "
                 f"{'large/small':>12}")
    for name in (COMMITTED, DELIVERED):
        rates = {size: [next(r for r in rows if r.name == name).throughput for rows in results[size]]
                 for size in sizes}
        ratios = [b / a for a, b in zip(rates[small_size], rates[large_size], strict=True)]
        lines.append(f"  {name + ' msg/s':<34} {_spread(rates[small_size]):>20} {_spread(rates[large_size]):>20} "
                     f"{statistics.median(ratios):>12.2f}")
    cpu = {size: [rows[0].cpu_ms for rows in results[size]] for size in sizes}
    lines.append(f"  {'cpu ms per report':<34} {_spread(cpu[small_size], '.2f'):>20} "
                 f"{_spread(cpu[large_size], '.2f'):>20} "
                 f"{statistics.median(cpu[large_size]) / statistics.median(cpu[small_size]):>12.2f}")
    for name in queries[small_size]:
        a, b = queries[small_size][name][0], queries[large_size][name][0]
        lines.append(f"  {name + ' query ms (median of 200)':<34} {a:>20.3f} {b:>20.3f} {b / a:>12.2f}")
        lines.append(f"    plan at {large_size:,}: {queries[large_size][name][1]}")
    committed = [b / a for a, b in zip(*(
        [next(r for r in rows if r.name == COMMITTED).throughput for rows in results[size]] for size in sizes),
        strict=True)]
    verdict = "met" if statistics.median(committed) >= 0.8 else "NOT met"
    lines.append(f"  target: tickets committed at {large_size:,} within 20 % of {small_size:,}: "
                 f"median {statistics.median(committed):.2f} x, {verdict}")
    return lines


def main(argv: list[str] | None = None) -> None:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.intake_scale_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--schema", default=None, help="measure at this older schema revision (e.g. 0002)")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    if "postgres" in backends and not _pg_available():
        print("PostgreSQL is not reachable: skipping it")
        backends.remove("postgres")
    print(f"intake at {args.small:,} and {args.large:,} pre-existing tickets: {args.messages} reports from "
          f"{args.users} residents at once, each run; the emulator in its own process")
    for backend in backends:
        print("\n".join(bench(backend, (args.small, args.large), args.runs, args.messages, args.users,
                               schema=args.schema)), flush=True)


if __name__ == "__main__":
    main()
