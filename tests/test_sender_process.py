"""The leader's outbox sender in a child process (``gridbot run``'s default, :mod:`bot.sender_process`).

One real ``gridbot run`` against the emulator (Telegram's limits kept): replies are delivered in each chat's
order, once each; the child carries no token in its argv or environment; a child killed with SIGKILL is
replaced and nothing recorded goes out twice; a parent killed with SIGKILL leaves no child sending.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from bot.sender import OutboxSender, WindowLimiter
from emulator import EmulatorThread
from tests.bot_process import ACK, add_residents, report_text, start_bot, stop_bot, wait_until
from tests.test_e2e_crash import BotDb

TOKEN = "515151:SENDER-child-token"
RESIDENTS = 20
FIRST_RESIDENT = 730_000
CONCURRENCY = 32  # bot.sender.OutboxSender default: what a killed sender may not have reported
WAIT = 120.0


def _children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.e2e
@pytest.mark.slow
def test_child_sender_delivers_once_in_order_is_replaced_and_dies_with_the_parent(tmp_path: Path) -> None:
    with EmulatorThread(token=TOKEN) as emu:
        db = BotDb(tmp_path / "bot.db")
        residents = add_residents(emu, RESIDENTS, FIRST_RESIDENT)
        bot = start_bot(TOKEN, emu.base_url, f"sqlite:///{db.path}", tmp_path / "bot.log", lease_seconds=6)
        try:
            for i in range(60):
                emu.send_text(residents[i % RESIDENTS], report_text(i, RESIDENTS))
            wait_until(lambda: emu.sent_count >= 10, WAIT, "the first replies")
            [child] = wait_until(lambda: _children(bot.pid), WAIT, "the sender child")
            argv = Path(f"/proc/{child}/cmdline").read_bytes()
            environ = Path(f"/proc/{child}/environ").read_bytes()
            assert b"bot.sender_child" in argv
            assert TOKEN.encode() not in argv and TOKEN.encode() not in environ

            os.kill(child, signal.SIGKILL)  # a lost child: replaced, its reported sends recorded
            time.sleep(0.2)  # a send that reached the emulator just before the kill is in its transcript
            delivered_at_kill = len(emu.transcript)
            wait_until(lambda: db.all_handled(emu, 60), WAIT, "all 60 reports answered after the child's kill")
            first_tickets = {number for number, in db.rows("SELECT id FROM ticket")}
            [second] = _children(bot.pid)
            assert second != child

            for i in range(60, 80):
                emu.send_text(residents[i % RESIDENTS], report_text(i, RESIDENTS))
            wait_until(lambda: emu.sent_count >= 65, WAIT, "replies to the second batch")
            bot.send_signal(signal.SIGKILL)  # the parent dies: its child must stop at once
            bot.wait(timeout=30)
            wait_until(lambda: not _alive(second), 10, "the sender child to die with its parent")
            after_death = len(emu.transcript)
            time.sleep(1.0)  # a child still sending would have delivered something by now
            assert len(emu.transcript) == after_death
        finally:
            stop_bot(bot)
        log_text = (tmp_path / "bot.log").read_text(errors="replace")

    assert "sender process ended with status -9" in log_text
    assert TOKEN not in log_text
    # Once each, in each chat's order: every acknowledgement names a ticket of that chat, numbers rising
    # (a resent acknowledgement, from a send the killed child had not reported, repeats only the latest).
    duplicates = emu.duplicate_sends()
    assert all(d["count"] == 2 for d in duplicates), duplicates
    assert len(duplicates) <= CONCURRENCY
    first_sends = {(e.chat_id, e.text) for e in emu.transcript[:delivered_at_kill]}
    assert all((d["chat_id"], d["text"]) in first_sends for d in duplicates), "only sends from before the kill"
    numbers_by_chat = {user: [int(n) for m in emu.messages_to(user) if m.from_bot for n in ACK.findall(m.text or "")]
                       for user in residents}
    tickets = dict(db.rows("SELECT id, chat_id FROM ticket"))
    for user, numbers in numbers_by_chat.items():
        distinct = list(dict.fromkeys(numbers))
        assert distinct == sorted(distinct), (user, numbers)
        assert all(tickets[n] == user for n in distinct)
    assert first_tickets <= {n for numbers in numbers_by_chat.values() for n in numbers}
    assert emu.rate_violations() == []


def test_a_successor_counts_every_limit_used_until_its_predecessor_died() -> None:
    """A new child after a lost one: nothing goes out before each limit's window since the death passed."""
    limiter = WindowLimiter(20, 60.0)
    limiter.fill(100.0)
    assert limiter.wait(130.0) == pytest.approx(30.0)
    assert limiter.wait(160.0) == 0.0

    sender = OutboxSender.__new__(OutboxSender)
    OutboxSender.__init__(sender, engine=None, bot=_NoBot())  # type: ignore[arg-type]
    died = time.monotonic()
    sender.assume_used_until(died)
    assert sender._global.wait(died) > 0
    assert sender._limiter(-100).wait(died + 30.0) > 0  # a group: 20 per minute
    assert sender._limiter(7).wait(died + 0.5) > 0  # a private chat: 1 per second
    assert sender._limiter(7).wait(died + 2.0) == 0.0


class _NoBot:
    token = "0:no-bot"
