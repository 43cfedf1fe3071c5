"""kill -9 of ``gridbot run`` in the middle of 200 resident messages, then a restart: nothing lost or doubled.

The emulator runs in this process (a background thread); the bot is a real ``gridbot run`` subprocess
polling it over HTTP with the default rate limits. Progress is read from the bot's SQLite file.

What may legitimately be sent twice: a row the sender had handed to Telegram when the process died but
whose "sent" mark was not committed yet. The bot cannot know it was delivered, so it sends it again after
the restart. Such rows are counted at the kill (sends the emulator recorded minus rows marked sent in
the database) and the duplicates must be exactly those, at most once each, and no more than the
sender's concurrency (32 requests in flight).
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator import EmulatorThread
from tests.bot_process import ACK, add_residents, report_text, start_bot, stop_bot, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TOKEN = "434343:CRASH-test-token"
RESIDENTS = 50
MESSAGES = 200
FIRST_BATCH = 120  # sent while the bot runs; the other 80 arrive while it is dead
KILL_AFTER = 60  # kill once at least this many tickets are committed
KILL_AFTER_SENDS = 5  # ... and at least this many replies were delivered
SENDER_CONCURRENCY = 32  # bot.sender.OutboxSender default: at most this many sends in flight
FIRST_RESIDENT = 710_000
WAIT = 120.0
POLL = 0.02  # seconds between looks at the database


class BotDb:
    """Read-only looks at the bot's SQLite file (WAL mode: readers never block the bot)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def scalar(self, sql: str) -> int:
        """One number; 0 while the schema is not there yet."""
        if not self.path.exists():
            return 0
        with sqlite3.connect(self.path, timeout=30) as conn:
            try:
                return int(conn.execute(sql).fetchone()[0] or 0)
            except sqlite3.OperationalError:  # no such table yet (migrations running)
                return 0

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """All rows of a query."""
        with sqlite3.connect(self.path, timeout=30) as conn:
            return list(conn.execute(sql).fetchall())

    def tickets(self) -> int:
        return self.scalar("SELECT count(*) FROM ticket")

    def unprocessed(self) -> int:
        return self.scalar("SELECT count(*) FROM inbox_update WHERE processed_at IS NULL")

    def unsent(self) -> int:
        return self.scalar("SELECT count(*) FROM outbox_message WHERE sent_at IS NULL AND failed_at IS NULL")

    def marked_sent(self) -> int:
        return self.scalar("SELECT count(*) FROM outbox_message WHERE sent_at IS NOT NULL")

    def in_flight(self, emu: EmulatorThread) -> tuple[int, int]:
        """Right after a kill: (sends the emulator recorded minus rows marked sent, sends recorded). The first
        is what was in flight (delivered, not yet marked) and may be sent once more after the restart."""
        time.sleep(0.2)  # let a request that reached the emulator just before the kill finish recording
        delivered = len(emu.transcript)
        return delivered - self.marked_sent(), delivered

    def all_handled(self, emu: EmulatorThread, reports: int) -> bool:
        """Every one of ``reports`` a ticket, every update processed, every reply sent."""
        return (self.tickets() == reports and self.unprocessed() == 0 and self.unsent() == 0
                and not emu.pending_updates())


@pytest.fixture
def emu() -> Iterator[EmulatorThread]:
    with EmulatorThread(token=TOKEN) as e:
        yield e


def _start_bot(emu: EmulatorThread, db_path: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """``gridbot run`` on a SQLite file; a restart waits out the killed process's 6 s lease."""
    return start_bot(TOKEN, emu.base_url, f"sqlite:///{db_path}", log_path, lease_seconds=6)


def test_kill_9_in_the_middle_of_200_reports_then_restart(emu: EmulatorThread, tmp_path: Path) -> None:
    db = BotDb(tmp_path / "bot.db")
    log_path = tmp_path / "bot.log"
    residents = add_residents(emu, RESIDENTS, FIRST_RESIDENT)

    bot = _start_bot(emu, db.path, log_path)
    try:
        sent: set[tuple[int, int]] = set()

        def inject(numbers: range) -> None:
            for i in numbers:
                user = residents[i % RESIDENTS]
                message = emu.send_text(user, report_text(i, RESIDENTS))["message"]
                sent.add((user, message["message_id"]))

        # The first part arrives while the bot runs; the rest arrives while it is dead (an outage).
        inject(range(FIRST_BATCH))
        # Kill while both intake and delivery are under way: enough tickets committed and replies leaving.
        committed = wait_until(lambda: (n := db.tickets()) >= KILL_AFTER and emu.sent_count >= KILL_AFTER_SENDS and n,
                               WAIT, f"{KILL_AFTER} committed tickets and {KILL_AFTER_SENDS} replies delivered", POLL)
        bot.send_signal(signal.SIGKILL)
        bot.wait(timeout=30)
        killed_at = time.monotonic()
        assert committed < MESSAGES, "the kill must land in the middle of the run"
        inject(range(FIRST_BATCH, MESSAGES))
        assert len(sent) == MESSAGES
        in_flight, delivered_at_kill = db.in_flight(emu)
        tickets_at_kill, unprocessed_at_kill, unsent_at_kill = db.tickets(), db.unprocessed(), db.unsent()
        assert 0 <= in_flight <= SENDER_CONCURRENCY

        bot = _start_bot(emu, db.path, log_path)
        wait_until(lambda: db.all_handled(emu, MESSAGES), WAIT, "all 200 reports handled and answered", POLL)
    finally:
        stop_bot(bot)
    restart_seconds = time.monotonic() - killed_at

    tickets = db.rows("SELECT id, chat_id, source_message_id, status FROM ticket")
    assert len(tickets) == MESSAGES
    assert {(chat, msg) for _, chat, msg, _ in tickets} == sent, "one ticket per (chat, message), none missing"
    assert {status for *_, status in tickets} == {"open"}, "each report names a place, so each is dispatched"
    assert db.scalar("SELECT count(*) FROM outbox_message WHERE failed_at IS NOT NULL") == 0

    # Every resident was told the number of each of their tickets.
    acknowledged: dict[int, set[int]] = {user: set() for user in residents}
    for user in residents:
        for message in emu.messages_to(user):
            if message.from_bot:
                acknowledged[user] |= {int(n) for n in ACK.findall(message.text or "")}
    for number, chat, _, _ in tickets:
        assert number in acknowledged[chat], f"ticket #{number} was never acknowledged to {chat}"
    assert sum(len(numbers) for numbers in acknowledged.values()) == MESSAGES

    duplicates = emu.duplicate_sends()
    print(f"\nkilled at {tickets_at_kill} tickets ({unprocessed_at_kill} stored, unprocessed; {unsent_at_kill} "
          f"replies queued); {in_flight} sends in flight; {len(duplicates)} resent; "
          f"all handled {restart_seconds:.1f}s after the kill")

    # Nothing the bot knew it had sent went out twice; resends are only the rows in flight at the kill.
    assert all(d["count"] == 2 for d in duplicates), duplicates
    assert len(duplicates) <= in_flight, (duplicates, in_flight)
    first_sends = {(e.chat_id, e.text) for e in emu.transcript[:delivered_at_kill]}
    assert all((d["chat_id"], d["text"]) in first_sends for d in duplicates), "first copies predate the kill"
    violations = emu.rate_violations()
    assert violations == [], [(v.chat_id, v.count, round(v.at - killed_at, 2)) for v in violations]
