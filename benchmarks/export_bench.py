"""Export benchmark: ``gridbot tickets export`` over years of tickets, memory and the bot's writes.

``python -m benchmarks.export_bench [--tickets 200000] [--events 3]``

A SQLite database gets ``--tickets`` tickets (the sweep benchmark's bulk loader) with ``--events``
history rows each. The script then runs ``gridbot tickets export`` in a child process for each format,
writing to a file, and prints its wall time, the child's peak resident memory beside that of a child
that only lists one ticket (the interpreter and its imports, the floor), and the longest a write
transaction standing for the bot (``BEGIN IMMEDIATE``, one update, commit, every 50 ms from this
process) waited while the export ran. It prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.sweep_bench import load
from cases.db import make_engine, upgrade

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("opened", "claim", "note", "resolve", "close")


def seed(db: Path, tickets: int, events: int) -> float:
    """Load ``tickets`` tickets with ``events`` history rows each; the seconds it took."""
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    started = time.perf_counter()
    load(engine, tickets)
    engine.dispose()
    at = datetime(2025, 6, 1, tzinfo=UTC)
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO ticket_event (ticket_id, at, actor_id, kind, from_status, to_status, note, public, data) "
            "VALUES (?, ?, 1, ?, NULL, NULL, ?, 1, '{}')",
            ((t, (at + timedelta(minutes=k)).strftime("%Y-%m-%d %H:%M:%S.%f"), KINDS[k % len(KINDS)],
              f"step {k} of ticket {t}") for t in range(1, tickets + 1) for k in range(events)))
    return time.perf_counter() - started


class WriteProbe:
    """A write transaction every ``every`` seconds from a thread; the longest each one waited."""

    def __init__(self, db: Path, every: float = 0.05) -> None:
        self.db, self.every = db, every
        self.waits: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WriteProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self.db, timeout=600, isolation_level=None)
        try:
            while not self._stop.is_set():
                started = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE ticket SET rating = 5 WHERE id = 1")
                conn.execute("COMMIT")
                self.waits.append(time.perf_counter() - started)
                self._stop.wait(self.every)
        finally:
            conn.close()


def run_child(args: list[str], db: Path) -> tuple[float, float]:
    """Run ``gridbot ARGS`` on ``db``; its wall seconds and peak resident memory in MiB."""
    env = os.environ | {"GRIDBOT_DATABASE_URL": f"sqlite:///{db}", "GRIDBOT_RULES": str(ROOT / "routing_rules.yaml")}
    script = ("import resource, sys; from cli.main import app; sys.argv = ['gridbot', *sys.argv[1:]]\n"
              "try:\n    app()\nexcept SystemExit as exit:\n    code = exit.code or 0\nelse:\n    code = 0\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\nsys.exit(code)")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    seconds = time.perf_counter() - started
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    return seconds, peak_kib / 1024


def main(argv: list[str] | None = None) -> None:
    """Seed, export in each format, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.export_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gridbot-export-") as tmp:
        db = Path(tmp) / "export.db"
        seconds = seed(db, args.tickets, args.events)
        print(f"export benchmark: {args.tickets:,} tickets with {args.events} history rows each "
              f"(seeded in {seconds:.1f} s), SQLite")
        _, floor = run_child(["tickets", "list", "--limit", "1"], db)
        print(f"a child listing one ticket (the floor): peak memory {floor:.0f} MiB")
        print(f"{'format':<9} {'seconds':>8} {'tickets/s':>10} {'peak MiB':>9} {'above floor':>12} "
              f"{'file MiB':>9} {'longest write wait ms':>22}")
        for fmt in ("csv", "json", "open311"):
            out = Path(tmp) / f"export.{fmt}"
            with WriteProbe(db) as probe:
                took, peak = run_child(["tickets", "export", "--format", fmt, "--output", str(out)], db)
            size = out.stat().st_size / 2**20
            longest = max(probe.waits) * 1000 if probe.waits else float("nan")
            print(f"{fmt:<9} {took:>8.1f} {args.tickets / took:>10,.0f} {peak:>9.0f} {peak - floor:>12.0f} "
                  f"{size:>9.1f} {longest:>22.1f}")


if __name__ == "__main__":
    main()
