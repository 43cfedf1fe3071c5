"""Intake benchmark: Gridbot against a bare python-telegram-bot echo bot, same emulator kind, same load.

Run: ``.venv/bin/python -m benchmarks.intake_bench [--messages 1000] [--users 200] [--runs 3] [--telegram-limits]``.

Two baselines: a bare python-telegram-bot echo bot (also once copying each message to a second chat),
and a naive ticket bot (``benchmarks.naive_ticket_bot``: PTB defaults, one sqlite3 transaction per
message, a dict keyword lookup, the two sends). The whole comparison is repeated ``--runs`` times and
the ratios, each taken within its own run, are summarised as min/median/max.

All bots run in this process and long-poll their own HTTP Bot API emulator (``EmulatorThread`` on
127.0.0.1); every message is injected at once (a burst) from ``--users`` residents. Each Gridbot
message names a place in one of the bundled rules' 12 grids, so it opens a ticket at once; one worker
is registered per grid. Latency is measured on this process's monotonic clock from the emulator
creating the update to:

- **ticket committed**: the transaction that inserted the ticket committed (SQLAlchemy session events);
- **worker notified**: the worker's "new ticket" message reached the emulator (left the outbox);
- **resident answered**: the resident's acknowledgement reached the emulator;
- for the echo bot: the echo reached the emulator (``benchmarks.echo_bot``).

Sending limits: the echo bot has no rate limiter. By default Gridbot's outbox limits are raised to
10,000/s (overall and per chat) so the table compares the machinery, not Telegram's policy: with the
real limits (``--telegram-limits``: 30 msg/s overall, 1 msg/s per private chat) a worker receives at
most one notification a second, so notifications of 12 grids cannot leave faster than 12/s whatever the
bot does, and acknowledgements plus notifications share 30 msg/s. Residents are spread so that each
sends at most ``reports_per_hour`` (10 in the bundled rules) reports; more would be held for review.
SQLite lives in a temporary directory; the bundled ``routing_rules.yaml`` is used.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, text

from benchmarks.drivers import Driver, ProcessDriver, ThreadDriver, wait_until
from benchmarks.echo_bot import TOKEN as ECHO_TOKEN
from benchmarks.echo_bot import echo_baseline
from benchmarks.naive_ticket_bot import TOKEN as NAIVE_TOKEN
from benchmarks.naive_ticket_bot import naive_baseline
from bot.app import App, build_app
from bot.handlers import handle_update
from bot.processor import InboxProcessor
from bot.receiver import store_batch
from bot.sender_process import SenderProcess
from cases.clock import utcnow
from cases.db import READ_ONLY, session_scope
from cases.services.people import get_or_create_person, grant_role
from cases.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "5100:intake-bench"
FIRST_RESIDENT, FIRST_WORKER = 600_000, 690_000
RAISED_LIMIT = 10_000.0
PLACES = {  # grid -> a place residents name (bundled rules)
    "taizimiao-1": "金鹗小区5栋", "taizimiao-2": "东方红小区3栋", "yunmeng-1": "云梦花园2栋",
    "yunmeng-2": "桃花苑6栋", "qiaoxi-1": "枫桥湖小区4栋", "qiaoxi-2": "铁路新村2栋",
    "baishi-1": "白石岭小区1栋", "baishi-2": "锦绣华庭A栋", "yanzishan-1": "燕子山小区3栋",
    "yanzishan-2": "望岳新村5栋", "liulin-1": "柳林洲小区2栋", "liulin-2": "南湖华府1栋",
}
PROBLEMS = ["楼道灯坏了，晚上一片漆黑", "门口的垃圾满了没人清运", "前面路面有个大坑", "楼下广场舞太吵了"]
HANDLER_ONLY = "gridbot: handler only"
ECHO = "ptb echo: echo sent"
ECHO_TWICE = "ptb echo + copy: both sent"
NAIVE = "naive ticket bot: both sent"
COMMITTED = "gridbot: ticket committed"
DELIVERED = "gridbot: both delivered"
NOTIFIED = "gridbot: worker notified"
TARGETS = ((COMMITTED, ECHO, 0.75), (DELIVERED, ECHO, 0.5), (DELIVERED, NAIVE, 1.0))
PACED_TARGET = 3.0
"""Paced runs (``--rate``): the worker notified p99 at most this many times the echo bot's reply p99."""
SENDER_PROCESS = "gridbot+sender process"
"""Prefix of the rows of the same Gridbot run with its outbox sender in a child process (``gridbot run``'s default)."""
NEW_TICKET = re.compile(r"新工单 #(\d+)")
ACK = re.compile(r"工单号 #(\d+)")


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    name: str
    messages: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float = 0.0  # CPU time of the bot's process per message (emulators in their own processes)
    loop_cpu_ms: float = 0.0  # of which the event loop's thread (Gridbot: receiving, Bot API calls, PTB)
    child_cpu_ms: float = 0.0  # CPU time of Gridbot's sender process per message (if it has one)

    @property
    def throughput(self) -> float:
        """Messages per second over the whole run (first injection to last arrival)."""
        return self.messages / self.seconds if self.seconds > 0 else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _row(name: str, started: float, injected: dict[Any, float], arrived: dict[Any, float], cpu_ms: float,
         loop_cpu_ms: float = 0.0, child_cpu_ms: float = 0.0) -> Row:
    missing = set(injected) - set(arrived)
    if missing:
        raise RuntimeError(f"{name}: {len(missing)} of {len(injected)} messages never arrived")
    latencies = [(arrived[k] - injected[k]) * 1000 for k in injected]
    return Row(name, len(injected), max(arrived.values()) - started,
               percentile(latencies, 0.5), percentile(latencies, 0.99), cpu_ms, loop_cpu_ms, child_cpu_ms)


def _process_cpu(pid: int | None) -> float:
    """CPU seconds (user and system) process ``pid`` used so far; 0 without one."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")



class CommitClock:
    """Records when each new ticket's transaction committed, keyed by (chat_id, source_message_id).

    It watches the engine's connections, not ORM sessions, so a ticket inserted by a Core statement counts
    too: an INSERT into ``ticket`` is remembered per connection (forgotten if its transaction or savepoint
    rolls back) and stamped when that connection commits (just before the database's own commit).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.committed: dict[tuple[int, int], float] = {}
        self.numbers: dict[int, tuple[int, int]] = {}
        self._pending: dict[int, list[tuple[int, int]]] = {}
        self._savepoints: dict[tuple[int, str], int] = {}
        self._seen = 0  # tickets up to this id existed before the run or are already in ``numbers``
        self._lock = threading.Lock()
        self._hooks = (("after_cursor_execute", self._executed), ("commit", self._committed),
                       ("rollback", self._rolled_back), ("savepoint", self._savepoint),
                       ("rollback_savepoint", self._rolled_back_to))

    def __enter__(self) -> CommitClock:
        with self.engine.execution_options(**{READ_ONLY: True}).connect() as conn:
            self._seen = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM ticket")).scalar_one())
        for name, hook in self._hooks:
            event.listen(self.engine, name, hook)
        return self

    def __exit__(self, *exc: object) -> None:
        for name, hook in self._hooks:
            event.remove(self.engine, name, hook)

    def _executed(self, conn: Connection, _cursor: Any, _statement: str, _params: Any, context: Any,
                  _many: bool) -> None:
        compiled = getattr(context, "compiled", None)
        table = getattr(getattr(compiled, "statement", None), "table", None)
        if not getattr(context, "isinsert", False) or getattr(table, "name", None) != "ticket":
            return
        keys = [(p["chat_id"], p["source_message_id"]) for p in context.compiled_parameters]
        with self._lock:
            self._pending.setdefault(id(conn), []).extend(keys)

    def _committed(self, conn: Connection) -> None:
        now = time.monotonic()
        with self._lock:
            for key in self._pending.pop(id(conn), []):
                self.committed.setdefault(key, now)

    def _rolled_back(self, conn: Connection) -> None:
        with self._lock:
            self._pending.pop(id(conn), None)

    def _savepoint(self, conn: Connection, name: str) -> None:
        with self._lock:
            self._savepoints[(id(conn), name)] = len(self._pending.get(id(conn), []))

    def _rolled_back_to(self, conn: Connection, name: str, _context: Any) -> None:
        with self._lock:
            mark = self._savepoints.pop((id(conn), name), None)
            if mark is not None:
                del self._pending.get(id(conn), [])[mark:]

    def learn_numbers(self) -> None:
        """Read which ticket number each report committed since the last call got (the numbers appear in
        the messages sent); only new tickets, so a database with a long history costs nothing here."""
        with self.engine.execution_options(**{READ_ONLY: True}).connect() as conn:
            rows = conn.execute(text("SELECT id, chat_id, source_message_id FROM ticket WHERE id > :seen"),
                                {"seen": self._seen}).all()
        self.numbers.update({int(i): (int(c), int(m)) for i, c, m in rows})
        self._seen = max(self.numbers, default=self._seen)


def _register_workers(app: App) -> dict[int, str]:
    """One worker per grid of :data:`PLACES` (telegram id → grid), committed."""
    workers = {FIRST_WORKER + i: grid for i, grid in enumerate(PLACES)}
    with session_scope(app.engine) as session:
        for worker, grid in workers.items():
            person = get_or_create_person(session, telegram_id=worker, name=f"网格员{grid}", language="zh",
                                          now=utcnow())
            grant_role(session, person=person, role="worker", scope=grid, rules=app.rules, now=utcnow())
    return workers


def _report(i: int) -> str:
    """The ``i``-th resident's report: a place in one of the 12 grids and a problem, made unique."""
    places = list(PLACES.values())
    return f"{places[i % len(places)]}{PROBLEMS[i % len(PROBLEMS)]}（{i}）"


async def _gridbot(emu: Driver, database_url: str, n_messages: int, n_users: int, *, telegram_limits: bool,
                   deadline: float, rate: float | None = None, first_resident: int = FIRST_RESIDENT,
                   sender_process: bool = False) -> list[Row]:
    """Run Gridbot against ``emu`` with the load described in the module docstring (residents numbered
    from ``first_resident``, so that a later run in the same database sends new messages). ``sender_process``:
    the outbox sender in a child process; the run starts once the child is connected (its start-up not counted)."""
    settings = Settings(token=emu.token, api_base_url=emu.base_url, database_url=database_url,
                        rules=str(ROOT / "routing_rules.yaml"), sweep_seconds=3600)
    if not telegram_limits:
        settings.outbox_global_per_second = settings.outbox_private_per_second = RAISED_LIMIT
    app = build_app(settings, runtime_options={"sender_process": sender_process})
    per_user = -(-n_messages // n_users)
    if per_user > app.rules.defaults.reports_per_hour:
        raise SystemExit(f"{per_user} reports per resident would be held for review "
                         f"(reports_per_hour={app.rules.defaults.reports_per_hour}); use more --users")
    workers = _register_workers(app)
    for worker in workers:
        emu.add_user(worker, f"网格员{worker}", language_code="zh", started=True)
    residents = [first_resident + i for i in range(n_users)]
    for user in residents:
        emu.add_user(user, f"居民{user}", language_code="zh-hans")
    messages = [(residents[i % n_users], _report(i)) for i in range(n_messages)]

    with CommitClock(app.engine) as clock:
        await app.runtime.start()
        child: int | None = None
        try:
            if isinstance(app.runtime.sender, SenderProcess):
                await asyncio.wait_for(app.runtime.sender.ready.wait(), 60)
                child = app.runtime.sender.process.pid if app.runtime.sender.process else None
            # Like the echo baseline: inject as soon as the bot is polling (the updates queue meanwhile).
            started, cpu_started, loop_started = time.monotonic(), time.process_time(), time.thread_time()
            child_started = _process_cpu(child)
            injected = {(chat, message): mono for chat, message, mono in await emu.inject(messages, rate)}
            notices: dict[tuple[int, int], float] = {}
            acks: dict[tuple[int, int], float] = {}

            def all_arrived() -> bool:
                # Each report gets at least two messages: the resident's answer and the worker's notice.
                if emu.sent_count() < 2 * n_messages:
                    return False
                clock.learn_numbers()
                notices.clear()
                acks.clear()
                for arrival in emu.arrivals():
                    match = (NEW_TICKET if arrival.chat_id in workers else ACK).search(arrival.text)
                    key = clock.numbers.get(int(match.group(1))) if match else None
                    if key is not None:
                        (notices if arrival.chat_id in workers else acks).setdefault(key, arrival.mono)
                return len(notices) >= n_messages and len(acks) >= n_messages

            await wait_until(all_arrived, deadline, poll=0.05)
            cpu_ms = (time.process_time() - cpu_started) / n_messages * 1000
            loop_ms = (time.thread_time() - loop_started) / n_messages * 1000
            child_ms = (_process_cpu(child) - child_started) / n_messages * 1000
        finally:
            await app.runtime.stop()
            app.engine.dispose()
        committed = dict(clock.committed)
    delivered = {k: max(notices[k], acks[k]) for k in notices.keys() & acks.keys()}
    names = [COMMITTED, NOTIFIED, "gridbot: resident answered", DELIVERED]
    if sender_process:
        names = [name.replace("gridbot", SENDER_PROCESS, 1) for name in names]
    return [_row(name, started, injected, arrived, cpu_ms, loop_ms, child_ms)
            for name, arrived in zip(names, (committed, notices, acks, delivered), strict=True)]


def _update(i: int, user: int, text: str) -> dict[str, Any]:
    """A private text message as the Bot API delivers it."""
    return {"update_id": 10_000_000 + i, "message": {
        "message_id": i + 1, "date": int(time.time()), "text": text,
        "chat": {"id": user, "type": "private", "first_name": f"居民{user}"},
        "from": {"id": user, "is_bot": False, "first_name": f"居民{user}", "language_code": "zh-hans"}}}


def handler_only(db_dir: Path, n_messages: int, n_users: int) -> Row:
    """The same reports already stored in the inbox, handled by the inbox processor with no network at all:
    the database and domain work per report, the ceiling for the whole pipeline on one core."""
    settings = Settings(token=TOKEN, api_base_url="http://127.0.0.1:9/bot",
                        database_url=f"sqlite:///{db_dir / 'handler.db'}", rules=str(ROOT / "routing_rules.yaml"))
    app = build_app(settings)
    _register_workers(app)
    payloads = [_update(i, FIRST_RESIDENT + i % n_users, _report(i)) for i in range(n_messages)]
    store_batch(app.engine, payloads)
    processor = InboxProcessor(app.engine, app.runtime.bot, functools.partial(handle_update, ctx=app.ctx),
                               concurrency=1, batch=n_messages)
    started, cpu_started = time.monotonic(), time.process_time()
    done = asyncio.run(processor.process_pending())
    seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu_started
    app.engine.dispose()
    if done != n_messages:
        raise RuntimeError(f"handler only: {done} of {n_messages} updates handled")
    per_report = seconds / n_messages * 1000
    return Row(HANDLER_ONLY, n_messages, seconds, per_report, per_report, cpu_seconds / n_messages * 1000)


def run(n_messages: int, n_users: int, *, telegram_limits: bool = False, deadline: float = 600,
        in_process: bool = False, rate: float | None = None, sender_process: str = "both") -> list[Row]:
    """The echo baseline, then Gridbot, each against its own emulator; returns the table rows.
    ``sender_process``: "off" (the sender in Gridbot's process), "on" (in a child process) or "both"."""
    driver: type[ThreadDriver] | type[ProcessDriver] = ThreadDriver if in_process else ProcessDriver
    with driver(ECHO_TOKEN) as echo_emu:
        echo = asyncio.run(echo_baseline(echo_emu, n_messages, n_users, deadline=deadline, rate=rate))
    with driver(ECHO_TOKEN) as echo_emu:
        twice = asyncio.run(echo_baseline(echo_emu, n_messages, n_users, deadline=deadline, rate=rate, replies=2))
    with tempfile.TemporaryDirectory(prefix="naive-bot-") as tmp, driver(NAIVE_TOKEN) as naive_emu:
        naive = asyncio.run(naive_baseline(naive_emu, Path(tmp), n_messages, n_users, deadline=deadline, rate=rate))
    rows = [Row(name, n_messages, float(r["seconds"]), float(r["latency_p50_ms"]), float(r["latency_p99_ms"]),
                float(r["cpu_ms_per_msg"])) for name, r in ((ECHO, echo), (ECHO_TWICE, twice), (NAIVE, naive))]
    modes = {"off": [False], "on": [True], "both": [False, True]}[sender_process]
    for child in modes:
        with tempfile.TemporaryDirectory(prefix="gridbot-intake-") as tmp, driver(TOKEN) as emu:
            rows += asyncio.run(_gridbot(emu, f"sqlite:///{Path(tmp) / 'bench.db'}", n_messages, n_users,
                                         telegram_limits=telegram_limits, deadline=deadline, rate=rate,
                                         sender_process=child))
    with tempfile.TemporaryDirectory(prefix="gridbot-handler-") as tmp:
        rows.append(handler_only(Path(tmp), n_messages, n_users))
    return rows


def _ratio(rows: Sequence[Row], name: str, base: str) -> float:
    """Throughput of row ``name`` over that of row ``base`` (same run)."""
    by_name = {row.name: row.throughput for row in rows}
    return by_name[name] / by_name[base] if by_name.get(base) else 0.0


def _cpu_split(total: str, loop: str) -> str:
    """Where Gridbot's process spent its CPU, per report (figures already formatted)."""
    return (f"gridbot's CPU per report: {total} ms in its process, of which {loop} ms in the "
            "event loop's thread (polling, Bot API calls, PTB) and the rest in the database threads (inbox, handling, "
            "outbox reads and records)")


def _child_split(total: str, loop: str, child: str, both: str) -> str:
    """Where Gridbot spent its CPU per report with the sender in a child process (figures already formatted)."""
    return (f"{SENDER_PROCESS}'s CPU per report: {total} ms in gridbot's process (of which {loop} ms in the event "
            f"loop's thread), {child} ms in the sender process, {both} ms over both")


def _targets(rows: Sequence[Row]) -> list[tuple[str, str, float]]:
    """The throughput targets, for the sender-process rows too when the run has them."""
    names = {row.name for row in rows}
    extra = [(name.replace("gridbot", SENDER_PROCESS, 1), base, target) for name, base, target in TARGETS]
    return list(TARGETS) + [t for t in extra if t[0] in names]


def _p99_ratio(rows: Sequence[Row], name: str, base: str) -> float:
    """p99 latency of row ``name`` over that of row ``base`` (same run)."""
    by_name = {row.name: row.p99_ms for row in rows}
    return by_name[name] / by_name[base] if by_name.get(base) else float("inf")


def _paced_target(ratio: float, label: str) -> str:
    return (f"target {NOTIFIED} p99 <= {PACED_TARGET:g} x {ECHO.split(':')[0]} p99: {label}{ratio:.2f} x, "
            f"{'met' if ratio <= PACED_TARGET else 'NOT met'}")


def summary(runs: Sequence[Sequence[Row]], *, paced: bool = False) -> str:
    """Min / median / max over several runs of each row's throughput, ratios to the two baselines
    (each ratio taken within its own run) and CPU per message."""
    def spread(values: list[float], fmt: str) -> str:
        return "/".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))

    lines = [f"over {len(runs)} runs, min/median/max (each ratio within its own run):",
             f"{'measure':<40} {'msg/s':>20} {'vs echo':>16} {'vs naive':>16} {'cpu ms/msg':>17}"]
    for row in runs[0]:
        if row.name == HANDLER_ONLY:
            continue
        same = [next(r for r in rows if r.name == row.name) for rows in runs]
        lines.append(f"{row.name:<40} {spread([r.throughput for r in same], '.1f'):>20} "
                     f"{spread([_ratio(rows, row.name, ECHO) for rows in runs], '.2f'):>16} "
                     f"{spread([_ratio(rows, row.name, NAIVE) for rows in runs], '.2f'):>16} "
                     f"{spread([r.cpu_ms for r in same], '.2f'):>17}")
    split = [next(r for r in rows if r.name == COMMITTED) for rows in runs]
    lines.append(_cpu_split(spread([r.cpu_ms for r in split], ".2f"), spread([r.loop_cpu_ms for r in split], ".2f")))
    child_rows = [r for rows in runs for r in rows if r.name == COMMITTED.replace("gridbot", SENDER_PROCESS, 1)]
    if len(child_rows) == len(runs):
        lines.append(_child_split(*(spread(values, ".2f") for values in (
            [r.cpu_ms for r in child_rows], [r.loop_cpu_ms for r in child_rows], [r.child_cpu_ms for r in child_rows],
            [r.cpu_ms + r.child_cpu_ms for r in child_rows]))))
    if paced:
        p99s = [_p99_ratio(rows, NOTIFIED, ECHO) for rows in runs]
        lines.append(f"p99 of {NOTIFIED} over {ECHO.split(':')[0]}'s p99: {spread(p99s, '.2f')}")
        lines.append(_paced_target(statistics.median(p99s), "median "))
        return "\n".join(lines)
    for name, base, target in _targets(runs[0]):
        ratios = [_ratio(rows, name, base) for rows in runs]
        lines.append(f"target {name} >= {target:g} x {base.split(':')[0]}: median {statistics.median(ratios):.2f} x, "
                     f"{'met' if statistics.median(ratios) >= target else 'NOT met'}")
    return "\n".join(lines)


def render(rows: Sequence[Row], *, n_messages: int, n_users: int, telegram_limits: bool,
           in_process: bool = False, rate: float | None = None) -> str:
    """The table, with throughput ratios against the echo bot."""
    limits = ("Telegram's (30 msg/s overall, 1 msg/s per chat)" if telegram_limits
              else f"raised to {RAISED_LIMIT:,.0f}/s overall and per chat (echo bot: none)")
    pace = f"paced at {rate:g}/s" if rate else "at once"
    lines = [f"intake benchmark: {n_messages} messages from {n_users} residents {pace}, 12 grids, "
             "SQLite, bundled rules",
             f"gridbot sending limits: {limits}",
             "emulators: " + ("threads of this process (they share its GIL)" if in_process
                              else "one process per bot (python -m emulator), as Telegram is another machine"),
             "",
             f"{'measure':<40} {'msg/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'vs echo':>8} {'cpu ms/msg':>11} "
             f"{'vs naive':>9}"]
    echo = rows[0].throughput
    naive = next((r.throughput for r in rows if r.name == NAIVE), 0.0)
    for row in rows:
        if row.name == HANDLER_ONLY:
            continue
        ratio = row.throughput / echo if echo else 0.0
        lines.append(f"{row.name:<40} {row.throughput:>9.1f} {row.p50_ms:>9.1f} {row.p99_ms:>9.1f} {ratio:>8.2f} "
                     f"{row.cpu_ms:>11.2f} {row.throughput / naive if naive else 0.0:>9.2f}")
    if rate:
        lines += ["", f"paced run: every bot gets {rate:g} msg/s; compare the latencies (the throughput targets are "
                      "for the burst run)", _paced_target(_p99_ratio(rows, NOTIFIED, ECHO), "")]
    else:
        lines.append("")
        for name, base, target in _targets(rows):
            ratio = _ratio(rows, name, base)
            lines.append(f"target {name} >= {target:g} x {base.split(':')[0]}: {ratio:.2f} x, "
                         f"{'met' if ratio >= target else 'NOT met'}")
    committed = next((r for r in rows if r.name == COMMITTED), None)
    if committed is not None:
        lines.append(_cpu_split(f"{committed.cpu_ms:.2f}", f"{committed.loop_cpu_ms:.2f}"))
    child = next((r for r in rows if r.name == COMMITTED.replace("gridbot", SENDER_PROCESS, 1)), None)
    if child is not None:
        lines.append(_child_split(f"{child.cpu_ms:.2f}", f"{child.loop_cpu_ms:.2f}", f"{child.child_cpu_ms:.2f}",
                                  f"{child.cpu_ms + child.child_cpu_ms:.2f}"))
    twice = next((r for r in rows if r.name == ECHO_TWICE), None)
    if twice is not None and echo:
        lines.append(f"a report needs two messages sent (acknowledgement, worker's notice): the echo bot copying each "
                     f"message to a second chat, with no database, reaches {twice.throughput / echo:.2f} x echo")
    alone = next((r for r in rows if r.name == HANDLER_ONLY), None)
    if alone is not None:
        lines.append(f"the same reports handled from the inbox with no network (one core, the ceiling): "
                     f"{alone.throughput:.1f} msg/s, {alone.p50_ms:.2f} ms per report ({alone.cpu_ms:.2f} ms CPU)")
    if alone is not None and twice is not None and echo and not rate:
        budget = 2000 / echo  # ms per report at half the echo bot's rate
        lines.append(f"budget at 0.5 x echo: {budget:.2f} ms per report; sending two messages takes "
                     f"{twice.cpu_ms:.2f} ms CPU, leaving {budget - twice.cpu_ms:.2f} ms for the inbox, the "
                     f"transaction and the routing, which take {alone.cpu_ms:.2f} ms CPU")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[list[Row]]:
    """Command line: run both bots and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.intake_bench",
                                     description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--telegram-limits", action="store_true", help="keep Telegram's sending limits")
    parser.add_argument("--deadline", type=float, default=600, help="give up after this many seconds per bot")
    parser.add_argument("--rate", type=float, default=None,
                        help="pace the residents' messages at this many per second (default: one burst)")
    parser.add_argument("--in-process", action="store_true",
                        help="run each emulator in a thread of this process instead of its own process")
    parser.add_argument("--sender-process", choices=("off", "on", "both"), default="both",
                        help="Gridbot's outbox sender in its process (off), in a child process (on), or a run of each")
    parser.add_argument("--runs", type=int, default=3, help="repeat the whole comparison this many times")
    args = parser.parse_args(argv)
    runs = []
    for i in range(args.runs):
        rows = run(args.messages, args.users, telegram_limits=args.telegram_limits, deadline=args.deadline,
                   in_process=args.in_process, rate=args.rate, sender_process=args.sender_process)
        print(f"run {i + 1} of {args.runs} (load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
        print(render(rows, n_messages=args.messages, n_users=args.users, telegram_limits=args.telegram_limits,
                     in_process=args.in_process, rate=args.rate), flush=True)
        print()
        runs.append(rows)
    print(summary(runs, paced=args.rate is not None))
    return runs


if __name__ == "__main__":
    main()
