"""Outbox priority: an emergency card queued behind a backlog of 1,200 routine replies is served first
(the sender against the Bot API emulator over real HTTP, on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from telegram.ext import ExtBot

from bot.sender import OutboxSender
from bot.sending import queue_edit, queue_message
from cases import outbox
from cases.clock import utcnow
from cases.db import session_scope
from cases.models import OutboxMessage
from tests.test_sender import USERS, _bot

pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Please use 'Bot.:telegram.warnings.PTBUserWarning"),
]

CHATS = [5001 + i for i in range(100)]
BACKLOG = 1200
GAS_WORKER = CHATS[7]


@pytest.fixture
async def bot_and_emu() -> AsyncIterator[tuple[ExtBot, object]]:
    from emulator import BotApiEmulator

    async with BotApiEmulator(token="4242:TEST-token") as emu:
        for uid in CHATS + USERS:
            emu.add_user(uid, started=True)
        bot = _bot(emu.base_url)
        await bot.initialize()
        yield bot, emu
        await bot.shutdown()


def _sent(engine: Engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(OutboxMessage.id).where(col(OutboxMessage.sent_at).is_not(None))).all())


def _backlog(session: Session, now: datetime) -> None:
    for n in range(BACKLOG):
        queue_message(session, chat_id=CHATS[n % len(CHATS)], text=f"routine {n}", now=now)


async def test_an_emergency_behind_1200_routine_replies_goes_first(engine: Engine, bot_and_emu: tuple) -> None:
    bot, emu = bot_and_emu
    sender = OutboxSender(engine, bot, poll_interval=0.05)
    task = asyncio.create_task(sender.run())
    try:
        with session_scope(engine) as session:
            _backlog(session, utcnow())
        sender.wake()
        await emu.wait_for(lambda: _sent(engine) >= 40, timeout=20)
        calls_before = len(emu.calls)
        started = time.monotonic()
        with session_scope(engine) as session:
            [card] = queue_message(session, chat_id=GAS_WORKER, text="🆕 gas leak", purpose="dispatch",
                                   priority=outbox.EMERGENCY, now=utcnow())
            queue_edit(session, chat_id=GAS_WORKER, of_outbox_id=card.id, text="🆕 gas leak (claimed)",
                       priority=outbox.EMERGENCY, now=utcnow())
        sender.wake()
        def sends() -> list:
            return [c for c in emu.calls[calls_before:] if c.status == 200]

        def is_card(call: object) -> bool:
            return getattr(call, "params", {}).get("text") == "🆕 gas leak"

        await emu.wait_for(lambda: any(is_card(c) for c in sends()), timeout=15)
        seconds = time.monotonic() - started
        done = sends()
        routine_before = next(i for i, c in enumerate(done) if is_card(c))
        print(f"\nemergency card behind {BACKLOG} routine replies: reached Telegram after {seconds:.2f} s; "
              f"{routine_before} routine sends in between (already in flight or in the same global window)")
        assert routine_before <= 40, f"{routine_before} routine replies went before the emergency"
        await emu.wait_for(lambda: any(c.method == "editMessageText" for c in sends()), timeout=15)
        texts = [m.text for m in emu.messages_to(GAS_WORKER)]
        assert "🆕 gas leak (claimed)" in texts, "the edit followed its message (never overtook it)"
        with Session(engine) as s:
            edit = s.exec(select(OutboxMessage).where(OutboxMessage.method == "editMessageText")).one()
            assert edit.priority == outbox.EMERGENCY
    finally:
        sender.stop()
        await task


def test_an_edit_is_never_more_urgent_than_the_message_it_edits(engine: Engine) -> None:
    with session_scope(engine) as session:
        [routine] = queue_message(session, chat_id=CHATS[0], text="hello", now=utcnow())
        edit = queue_edit(session, chat_id=CHATS[0], of_outbox_id=routine.id, text="hello!",
                          priority=outbox.EMERGENCY, now=utcnow())
        assert edit is not None and edit.priority == outbox.ROUTINE
