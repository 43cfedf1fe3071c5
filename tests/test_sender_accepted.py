"""The sender frees a chat as soon as Telegram accepted its message, before the acceptance is recorded:
while the database refuses every write, a chat's messages still go out, in order, each once, and an edit
of an accepted message finds its message id; the records follow once the database takes writes again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select
from telegram.ext import ExtBot

from bot.ptb import make_bot
from bot.sender import OutboxSender
from bot.sending import queue_edit, queue_message
from cases.clock import utcnow
from cases.db import make_engine, read_scope, session_scope
from cases.models import OutboxMessage
from cases.settings import Settings
from emulator import BotApiEmulator

pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Please use 'Bot.:telegram.warnings.PTBUserWarning"),
]

TOKEN = "4343:TEST-accepted"
USER = 3001


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as e:
        e.add_user(USER, started=True)
        yield e


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[ExtBot]:
    b = make_bot(Settings(token=TOKEN, api_base_url=emu.base_url))
    await b.initialize()
    yield b
    await b.shutdown()


@contextmanager
def writes_refused(engine: Engine) -> Iterator[None]:
    """Another connection holds the outbox's write lock (SQLite: the database's; PostgreSQL: the table's,
    readers still pass) until the block ends."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with other.connect() as conn:
            conn.begin()  # SQLite: BEGIN IMMEDIATE, the write lock
            if conn.dialect.name == "postgresql":
                conn.execute(text("LOCK TABLE outbox_message IN EXCLUSIVE MODE"))
            try:
                yield
            finally:
                conn.rollback()
    finally:
        other.dispose()


def rows(engine: Engine) -> list[OutboxMessage]:
    with read_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))  # type: ignore[arg-type]


async def test_a_chat_goes_on_while_its_deliveries_wait_to_be_recorded(
        emu: BotApiEmulator, engine: Engine, bot: ExtBot) -> None:
    def fill(session: Session, now: datetime) -> None:
        [card] = queue_message(session, chat_id=USER, text="card", now=now)
        queue_message(session, chat_id=USER, text="second", now=now)
        queue_edit(session, chat_id=USER, of_outbox_id=card.id, text="card, claimed", now=now)
        queue_message(session, chat_id=USER, text="third", now=now)

    with session_scope(engine) as session:
        fill(session, utcnow())
    sender = OutboxSender(engine, bot, poll_interval=0.05, private_per_second=1000.0)
    with writes_refused(engine):
        task = asyncio.create_task(sender.run())
        try:
            await emu.wait_for(lambda: len(emu.calls) >= 4 and len(emu.messages_to(USER)) == 3, timeout=20)
            await asyncio.sleep(0.3)  # time for a wrong second send to arrive
            assert all(r.sent_at is None for r in rows(engine)), "nothing could be recorded yet"
            assert [m.text for m in emu.messages_to(USER)] == ["card, claimed", "second", "third"]
            assert [c.method for c in emu.calls if c.status == 200 and c.method != "getMe"] == \
                ["sendMessage", "sendMessage", "editMessageText", "sendMessage"]
        except BaseException:
            sender.stop()
            raise
    try:
        await emu.wait_for(lambda: all(r.sent_at is not None for r in rows(engine)), timeout=30)
    finally:
        sender.stop()
        await task
    assert len(emu.calls_to("sendMessage")) == 3 and len(emu.calls_to("editMessageText")) == 1
    card = rows(engine)[0]
    assert card.result_message_id == emu.messages_to(USER)[0].message_id
