"""kill -9 of ``gridbot run`` while a group transaction is open (group commit), then a restart.

150 reports wait for the bot (an outage backlog), so the processor takes them in groups, many updates
per transaction. The test kills the bot the moment its write transaction is seen open (SQLite's write
lock is held: a ``BEGIN IMMEDIATE`` probe with no wait fails) after some tickets were committed, i.e. in
the middle of a group. After the restart every report has exactly one ticket, every resident was told
each number once, and the only resends are messages that were in flight at the kill.
"""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import EmulatorThread
from tests.bot_process import ACK, add_residents, stop_bot, wait_until
from tests.test_e2e_crash import POLL, SENDER_CONCURRENCY, TOKEN, WAIT, BotDb, _start_bot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RESIDENTS = 50
MESSAGES = 150
KILL_AFTER = 20  # committed tickets before the kill may land
FIRST_RESIDENT = 720_000
REPORTS = ["金鹗小区5栋楼道灯坏了", "东方红小区3栋门口的垃圾满了", "云梦花园2栋前面路面有个大坑"]


def _writing(path: Path) -> bool:
    """True if another connection holds SQLite's write lock right now (a transaction is open)."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


@pytest.fixture
def emu() -> Iterator[EmulatorThread]:
    with EmulatorThread(token=TOKEN) as e:
        yield e


def test_kill_9_in_the_middle_of_a_group_then_restart(emu: EmulatorThread, tmp_path: Path) -> None:
    db = BotDb(tmp_path / "bot.db")
    log_path = tmp_path / "bot.log"
    residents = add_residents(emu, RESIDENTS, FIRST_RESIDENT)
    sent = set()
    for i in range(MESSAGES):  # all waiting before the bot starts
        user = residents[i % RESIDENTS]
        message = emu.send_text(user, f"{REPORTS[i % len(REPORTS)]}（第{i // RESIDENTS + 1}次）")["message"]
        sent.add((user, message["message_id"]))

    bot = _start_bot(emu, db.path, log_path)
    try:
        wait_until(lambda: db.tickets() >= KILL_AFTER, WAIT, f"{KILL_AFTER} committed tickets", POLL)
        wait_until(lambda: _writing(db.path) or db.tickets() >= MESSAGES, WAIT, "an open write transaction", POLL)
        bot.send_signal(signal.SIGKILL)
        bot.wait(timeout=30)
        tickets_at_kill = db.tickets()
        assert tickets_at_kill < MESSAGES, "the kill must land in the middle of the run"
        in_flight, _ = db.in_flight(emu)
        assert 0 <= in_flight <= SENDER_CONCURRENCY

        bot = _start_bot(emu, db.path, log_path)
        wait_until(lambda: db.all_handled(emu, MESSAGES), WAIT, "all reports handled and answered", POLL)
    finally:
        stop_bot(bot)

    tickets = db.rows("SELECT id, chat_id, source_message_id FROM ticket")
    assert len(tickets) == MESSAGES
    assert {(chat, msg) for _, chat, msg in tickets} == sent, "one ticket per (chat, message), none missing"
    events = db.rows("SELECT ticket_id, count(*) FROM ticket_event WHERE kind = 'opened' GROUP BY ticket_id")
    assert len(events) == MESSAGES and all(count == 1 for _, count in events), "one 'opened' event per ticket"
    acknowledged: dict[int, list[int]] = {user: [] for user in residents}
    for user in residents:
        for message in emu.messages_to(user):
            if message.from_bot:
                acknowledged[user] += [int(n) for n in ACK.findall(message.text or "")]
    duplicates = emu.duplicate_sends()
    resent = {(d["chat_id"], d["text"]) for d in duplicates}
    for number, chat, _ in tickets:
        copies = acknowledged[chat].count(number)
        assert copies == 1 or (copies == 2 and any(f"#{number}" in text for c, text in resent if c == chat)), \
            f"ticket #{number} acknowledged {copies} times to {chat}"
    assert all(d["count"] == 2 for d in duplicates) and len(duplicates) <= in_flight, (duplicates, in_flight)
    print(f"\nkilled with a write transaction open at {tickets_at_kill} committed tickets; {in_flight} sends in "
          f"flight, {len(duplicates)} resent")
