"""Tools for the fault-injection suite (``tests/test_faults_*.py``): a PostgreSQL of the test's own that it
stops and starts, a TCP proxy it can cut, real ``gridbot run`` processes, and the figures each scenario prints.

Everything listens on 127.0.0.1 only. The PostgreSQL comes from ``/usr/lib/postgresql/*/bin`` (initdb, pg_ctl);
run as root, the cluster belongs to the ``postgres`` OS user (initdb refuses root).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from emulator import EmulatorThread
from tests.bot_process import ACK, add_residents, free_port, report_text, start_bot, stop_bot


def pg_bin() -> Path | None:
    """The newest PostgreSQL server binaries installed (Debian layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class PgServer:
    """A throw-away PostgreSQL cluster on a port of its own: ``start()``, ``stop()``, ``dsn(db)``."""

    def __init__(self) -> None:
        binaries = pg_bin()
        if binaries is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.bin = binaries
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="gridbot-faults-pg-"))
        self.data = self.dir / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, str(self.bin / tool), *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=self.dir, timeout=60)

    def start(self) -> None:
        """Start (or restart) the server and wait until it accepts connections."""
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c max_connections=100")  # commits stay durable: no synchronous_commit=off
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: like a crash, every connection cut)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def dsn(self, database: str = "postgres") -> str:
        """A libpq connection string to ``database`` on this server, directly (not through any proxy)."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def create_database(self, name: str) -> None:
        """A new empty database."""
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def destroy(self) -> None:
        """Stop the server and remove its files."""
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target``; :meth:`cut` drops every connection and refuses new ones
    until :meth:`restore`. Runs its own event loop in a background thread."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def _abort_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        self._cut = True
        self._loop.call_soon_threadsafe(self._abort_all)

    def restore(self) -> None:
        """Accept connections again."""
        self._cut = False

    def close(self) -> None:
        """Stop the proxy."""
        self._loop.call_soon_threadsafe(self._abort_all)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@dataclass
class Bot:
    """A ``gridbot run`` process."""

    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def holder_prefix(self) -> str:
        """The start of this process's lease holder name (``host:pid:``)."""
        return f"{socket.gethostname()}:{self.pid}:"

    def stop(self) -> None:
        """SIGTERM (then SIGKILL), resuming it first if it was frozen."""
        stop_bot(self.process, grace=20)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Scenario:
    """One scenario's world: the emulator, the bot processes, the database, and the figures to print."""

    name: str
    emu: EmulatorThread
    database_url: str
    dsn: str
    api_base_url: str
    tmp: Path
    token: str
    residents: list[int] = field(default_factory=list)
    bots: list[Bot] = field(default_factory=list)
    sent: set[tuple[int, int]] = field(default_factory=set)
    _next_report: int = 0

    def start_bot(self, *, lease_seconds: float = 30.0, **env: str) -> Bot:
        """A real ``python -m cli.main run`` polling the emulator."""
        log = self.tmp / f"bot{len(self.bots)}.log"
        process = start_bot(self.token, self.api_base_url, self.database_url, log, lease_seconds=lease_seconds, **env)
        bot = Bot(process, log)
        self.bots.append(bot)
        return bot

    def stop_all(self) -> None:
        for bot in self.bots:
            bot.stop()

    # ---- residents and their reports
    def add_residents(self, count: int, first: int) -> None:
        self.residents += add_residents(self.emu, count, first)

    def report(self, count: int) -> None:
        """``count`` more reports, spread over the residents (each names a place, so each is dispatched)."""
        for _ in range(count):
            i = self._next_report
            self._next_report += 1
            user = self.residents[i % len(self.residents)]
            message = self.emu.send_text(user, report_text(i, len(self.residents)))["message"]
            self.sent.add((user, message["message_id"]))

    # ---- the database, read directly (not through any proxy)
    def scalar(self, sql: str) -> int:
        try:
            with psycopg.connect(self.dsn, connect_timeout=3) as conn:
                row = conn.execute(sql).fetchone()
                return int(row[0] or 0) if row else 0
        except psycopg.Error:
            return -1  # the server is down or the schema is not there yet

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, connect_timeout=3) as conn:
            return list(conn.execute(sql).fetchall())

    def tickets(self) -> int:
        return self.scalar("SELECT count(*) FROM ticket")

    def lease_holder(self) -> str | None:
        try:
            rows = self.rows("SELECT holder FROM scheduler_lock WHERE name = 'leader'")
        except psycopg.Error:
            return None
        return str(rows[0][0]) if rows else None

    def leader(self) -> Bot | None:
        holder = self.lease_holder()
        return next((bot for bot in self.bots if holder and holder.startswith(bot.holder_prefix())), None)

    def acknowledged(self) -> int:
        """Ticket numbers the residents were told (each counted once per resident)."""
        return sum(len({n for m in self.emu.messages_to(user) if m.from_bot for n in ACK.findall(m.text or "")})
                   for user in self.residents)

    def all_done(self) -> bool:
        """Every report a ticket, and every resident told each of their ticket numbers (or more than that:
        :meth:`check` then fails on the doubles)."""
        return (self.tickets() >= len(self.sent) and self.acknowledged() >= len(self.sent)
                and self.scalar("SELECT count(*) FROM outbox_message WHERE sent_at IS NULL AND failed_at IS NULL") == 0)

    def in_flight(self) -> tuple[int, int]:
        """(sends the emulator recorded, minus rows marked sent in the database; sends recorded so far): right
        after a process is frozen or killed, the first is what it had handed to Telegram without recording it
        yet. Those, and only those, may go out once more (nobody can know they were delivered)."""
        time.sleep(0.2)  # let a request that reached the emulator just before finish recording
        delivered = len(self.emu.transcript)
        return delivered - self.scalar("SELECT count(*) FROM outbox_message WHERE sent_at IS NOT NULL"), delivered

    def check(self, recovered_in: float | None, *, in_flight: tuple[int, int] = (0, 0)) -> None:
        """Print the scenario's figures, then fail on any loss, doubled ticket, repeat or rate violation.

        ``in_flight`` (from :meth:`in_flight`): repeats allowed, each of a send made before that moment."""
        tickets = self.rows("SELECT id, chat_id, source_message_id FROM ticket")
        pairs = [(chat, msg) for _, chat, msg in tickets]
        repeats = self.emu.duplicate_sends()
        violations = self.emu.rate_violations()
        recovered = "-" if recovered_in is None else f"{recovered_in:.1f}"
        print(f"\n[fault] {self.name}: reports={len(self.sent)} tickets={len(tickets)} "
              f"distinct={len(set(pairs))} sends={self.emu.sent_count} acks={self.acknowledged()} "
              f"repeats={len(repeats)} (in flight at the fault: {in_flight[0]}) rate_violations={len(violations)} "
              f"recovered_s={recovered}")
        assert len(pairs) == len(set(pairs)), "a report became two tickets"
        assert set(pairs) == self.sent, "a report was lost (or a ticket appeared from nowhere)"
        assert self.acknowledged() == len(self.sent), "a resident was not told a ticket number"
        allowed, before = in_flight
        assert len(repeats) <= allowed and all(r["count"] == 2 for r in repeats), (repeats, allowed)
        first_sends = {(e.chat_id, e.text) for e in self.emu.transcript[:before]}
        assert all((r["chat_id"], r["text"]) in first_sends for r in repeats), "a repeat of a send not in flight"
        assert violations == [], [(v.chat_id, v.count, v.limit) for v in violations]
        assert self.scalar("SELECT count(*) FROM outbox_message WHERE failed_at IS NOT NULL") == 0
        assert not any(self.token in bot.log_text() for bot in self.bots), "the bot token reached a log"


@contextlib.contextmanager
def scenario(name: str, pg: PgServer, tmp: Path, *, token: str, db_proxy: TcpProxy | None = None,
             api_proxy: bool = False) -> Iterator[tuple[Scenario, TcpProxy | None]]:
    """A fresh database on ``pg`` (reached through ``db_proxy`` if given), an emulator (behind a proxy of its own
    with ``api_proxy``), and cleanup of every process afterwards. Yields the scenario and the API proxy."""
    database = re.sub(r"\W", "_", name)[:40] + f"_{os.getpid()}_{free_port()}"
    pg.create_database(database)
    port = db_proxy.port if db_proxy is not None else pg.port
    with EmulatorThread(token=token) as emu:
        proxy = None
        base_url = emu.base_url
        if api_proxy:
            emu_port = int(re.search(r":(\d+)/", base_url).group(1))  # type: ignore[union-attr]
            proxy = TcpProxy(emu_port)
            base_url = base_url.replace(f":{emu_port}/", f":{proxy.port}/")
        world = Scenario(name, emu, f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}",
                         pg.dsn(database), base_url, tmp, token)
        failed = True
        try:
            yield world, proxy
            failed = False
        finally:
            if failed:
                with contextlib.suppress(Exception):
                    print("\nunsent:", world.rows("SELECT id, chat_id, attempts, not_before, error FROM outbox_message "
                                                  "WHERE sent_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT 10"))
            world.stop_all()
            if proxy is not None:
                proxy.close()
            for bot in world.bots:
                text = bot.log_text()
                if failed or "Traceback" in text:
                    print(f"--- {bot.log.name} (pid {bot.pid}, exit {bot.process.returncode}) ---\n{text[-6000:]}")
