"""Group commit: waiting updates share one transaction, each in its own savepoint; caps and order."""

from __future__ import annotations

from sqlalchemy import Engine, event
from telegram.ext import ExtBot

from bot.processor import InboxProcessor
from emulator import BotApiEmulator
from tests.test_processor import ALICE, BOB, CAROL, Echo, bot, echoes, emu, inbox_rows, receive

__all__ = ["bot", "emu"]  # fixtures shared with test_processor


class Commits:
    """Counts the engine's committed transactions."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "commit", self._seen)

    def _seen(self, _conn: object) -> None:
        self.count += 1


async def test_waiting_updates_share_one_transaction(emu: BotApiEmulator, engine: Engine, bot: ExtBot) -> None:
    receive(engine, emu, *[(user, f"{user}-{n}") for n in range(4) for user in (ALICE, BOB, CAROL)])
    commits = Commits(engine)
    processor = InboxProcessor(engine, bot, Echo(), group_ms=60_000)
    assert await processor.process_pending() == 12
    assert commits.count == 1
    assert processor.processed == 12
    assert all(row.processed_at is not None for row in inbox_rows(engine))


async def test_a_failing_update_rolls_back_only_itself_and_holds_its_chat(
    emu: BotApiEmulator, engine: Engine, bot: ExtBot
) -> None:
    receive(engine, emu, *[(user, f"{user}-{n}") for n in range(3) for user in (ALICE, BOB)])
    handler = Echo()
    handler.failures[f"{ALICE}-1"] = 1  # writes its echo, then fails: the savepoint must undo the echo
    commits = Commits(engine)
    processor = InboxProcessor(engine, bot, handler, group_ms=60_000, retry_base=0.01, retry_cap=0.02)
    assert await processor.process_pending() == 4, "Alice's first, Bob's three"
    assert commits.count == 1, "the failure was recorded in the group's own transaction"
    assert echoes(engine, ALICE) == [f"echo: {ALICE}-0"]
    assert echoes(engine, BOB) == [f"echo: {BOB}-{n}" for n in range(3)]
    failing = next(r for r in inbox_rows(engine) if r.payload["message"]["text"] == f"{ALICE}-1")
    assert failing.attempts == 1 and "boom" in (failing.error or "") and failing.processed_at is None
    later = next(r for r in inbox_rows(engine) if r.payload["message"]["text"] == f"{ALICE}-2")
    assert later.processed_at is None and later.attempts == 0, "Alice's later update waits behind the failure"


async def test_a_group_stops_at_its_count_cap(emu: BotApiEmulator, engine: Engine, bot: ExtBot) -> None:
    receive(engine, emu, *[(ALICE, f"a{n}") for n in range(7)])
    commits = Commits(engine)
    processor = InboxProcessor(engine, bot, Echo(), group_max=3, group_ms=60_000)
    assert await processor.process_pending() == 7
    assert commits.count == 3, "groups of 3, 3 and 1"
    assert echoes(engine, ALICE) == [f"echo: a{n}" for n in range(7)], "in order across groups"
