"""The inbox processor: one transaction per update, order per chat, replay, retries and giving up."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from telegram import Update
from telegram.ext import ExtBot

from bot.processor import InboxProcessor
from bot.ptb import make_bot
from bot.receiver import store_batch
from bot.sending import queue_message
from cases.db import session_scope
from cases.models import InboxUpdate, OutboxMessage
from cases.settings import Settings
from emulator import BotApiEmulator

TOKEN = "4242:TEST-token"
ALICE, BOB, CAROL = 4001, 4002, 4003


class Echo:
    """A stand-in for the real handlers: queues ``echo: TEXT``; fails on demand after writing."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []
        self.failures: dict[str, int] = {}
        self.lock = threading.Lock()
        self.delay = 0.0

    def __call__(self, session: Session, update: Update, *, now: datetime) -> None:
        message = update.effective_message
        assert message is not None and message.text is not None
        with self.lock:
            self.calls.append((message.chat_id, message.text))
        if self.delay:
            time.sleep(self.delay)
        queue_message(session, chat_id=message.chat_id, text=f"echo: {message.text}", now=now)
        with self.lock:
            left = self.failures.get(message.text, 0)
            self.failures[message.text] = left - 1
        if left > 0:
            raise RuntimeError(f"boom on {message.text}")


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as e:
        yield e


@pytest.fixture
def bot(emu: BotApiEmulator) -> Iterator[ExtBot]:
    yield make_bot(Settings(token=TOKEN, api_base_url=emu.base_url))


def receive(engine: Engine, emu: BotApiEmulator, *messages: tuple[int, str]) -> list[dict[str, Any]]:
    """Residents write; the receiver has committed the updates (as it does before confirming them)."""
    updates = [emu.send_text(user, text) for user, text in messages]
    store_batch(engine, updates)
    return updates


def echoes(engine: Engine, chat_id: int | None = None) -> list[str]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id))  # type: ignore[arg-type]
        return [r.payload["text"] for r in rows if chat_id is None or r.chat_id == chat_id]


def inbox_rows(engine: Engine) -> list[InboxUpdate]:
    with session_scope(engine) as session:
        return list(session.exec(select(InboxUpdate).order_by(InboxUpdate.update_id)))  # type: ignore[arg-type]


async def run_until_inbox_is_done(processor: InboxProcessor, emu: BotApiEmulator, engine: Engine) -> None:
    """Run the processor until every stored update is processed (handled or given up), then stop it."""
    task = asyncio.create_task(processor.run())
    try:
        await emu.wait_for(lambda: all(r.processed_at is not None for r in inbox_rows(engine)), timeout=20)
    finally:
        processor.stop()
        await task


async def test_stored_updates_are_replayed_after_a_crash_and_processed_once(
    emu: BotApiEmulator, engine: Engine, bot: ExtBot
) -> None:
    receive(engine, emu, (ALICE, "a1"), (BOB, "b1"), (ALICE, "a2"))  # stored, then the process died
    handler = Echo()
    first = InboxProcessor(engine, bot, handler)
    assert await first.process_pending() == 3
    assert await first.process_pending() == 0
    assert sorted(handler.calls) == [(ALICE, "a1"), (ALICE, "a2"), (BOB, "b1")]
    assert echoes(engine, ALICE) == ["echo: a1", "echo: a2"] and echoes(engine, BOB) == ["echo: b1"]
    assert all(row.processed_at is not None and row.error is None for row in inbox_rows(engine))
    store_batch(engine, [row.payload for row in inbox_rows(engine)])  # a redelivery changes nothing
    assert await InboxProcessor(engine, bot, handler).process_pending() == 0
    assert len(echoes(engine)) == 3


async def test_commits_are_announced_on_the_event_loop_thread(
    emu: BotApiEmulator, engine: Engine, bot: ExtBot
) -> None:
    # Handlers run in worker threads, but the sender's wake-up (an asyncio.Event) is only safe on the loop.
    receive(engine, emu, (ALICE, "a1"), (BOB, "b1"), (ALICE, "a2"))
    seen: list[threading.Thread] = []
    processor = InboxProcessor(engine, bot, Echo(), on_commit=lambda: seen.append(threading.current_thread()))
    assert await processor.process_pending() == 3
    await asyncio.sleep(0.05)  # the announcements are scheduled with call_soon_threadsafe
    assert seen == [threading.current_thread()] * 3


async def test_two_processors_never_handle_an_update_twice(
    emu: BotApiEmulator, engine: Engine, bot: ExtBot
) -> None:
    receive(engine, emu, *[(user, f"m{n}") for n in range(5) for user in (ALICE, BOB, CAROL)])
    handler = Echo()
    handler.delay = 0.01
    one, two = InboxProcessor(engine, bot, handler), InboxProcessor(engine, bot, handler)
    await asyncio.gather(one.process_pending(), two.process_pending())
    assert len(handler.calls) == 15 and len(set(handler.calls)) == 15
    assert len(echoes(engine)) == 15


async def test_each_chat_in_order_and_a_failure_holds_only_its_chat(
    emu: BotApiEmulator, engine: Engine, bot: ExtBot
) -> None:
    receive(engine, emu, *[(user, f"{user}-{n}") for n in range(5) for user in (ALICE, BOB, CAROL)])
    handler = Echo()
    handler.failures[f"{ALICE}-1"] = 2
    processor = InboxProcessor(engine, bot, handler, retry_base=0.01, retry_cap=0.05)
    assert await processor.process_pending() == 11, "Alice stops at her failing update; others go on"
    assert echoes(engine, ALICE) == [f"echo: {ALICE}-0"]
    assert echoes(engine, BOB) == [f"echo: {BOB}-{n}" for n in range(5)]
    failing = next(r for r in inbox_rows(engine) if r.payload["message"]["text"] == f"{ALICE}-1")
    assert failing.attempts == 1 and "boom" in (failing.error or "") and failing.processed_at is None

    task = asyncio.create_task(processor.run())
    try:
        await emu.wait_for(lambda: len(echoes(engine, ALICE)) == 5, timeout=20)
    finally:
        processor.stop()
        await task
    assert echoes(engine, ALICE) == [f"echo: {ALICE}-{n}" for n in range(5)], "rolled-back writes left nothing"
    assert [text for chat, text in handler.calls if chat == ALICE] == [
        f"{ALICE}-0", f"{ALICE}-1", f"{ALICE}-1", f"{ALICE}-1", f"{ALICE}-2", f"{ALICE}-3", f"{ALICE}-4",
    ]


async def test_gives_up_after_five_failures_and_tells_the_hook(
    emu: BotApiEmulator, engine: Engine, bot: ExtBot
) -> None:
    receive(engine, emu, (ALICE, "poison"), (ALICE, "after"))
    handler = Echo()
    handler.failures["poison"] = 99
    given_up: list[tuple[int, str]] = []

    def on_give_up(session: Session, update: Update, error: str, *, now: datetime) -> None:
        given_up.append((update.update_id, error))
        queue_message(session, chat_id=ALICE, text="sorry, we could not handle that", now=now)

    processor = InboxProcessor(engine, bot, handler, on_give_up=on_give_up, retry_base=0.01, retry_cap=0.02)
    await run_until_inbox_is_done(processor, emu, engine)
    poison, after = inbox_rows(engine)
    assert [text for _, text in handler.calls].count("poison") == 5
    assert poison.processed_at is not None and "boom on poison" in (poison.error or "")
    assert given_up == [(poison.update_id, poison.error)]
    assert after.error is None
    assert echoes(engine, ALICE) == ["sorry, we could not handle that", "echo: after"]


async def test_an_update_that_cannot_be_parsed_is_given_up_without_stopping_the_processor(
    emu: BotApiEmulator, engine: Engine, bot: ExtBot
) -> None:
    store_batch(engine, [{"update_id": 1, "message": {"message_id": 1, "chat": {"id": ALICE, "type": "private"}}}])
    receive(engine, emu, (BOB, "fine"))
    processor = InboxProcessor(engine, bot, Echo(), max_attempts=2, retry_base=0.01, retry_cap=0.02)
    await run_until_inbox_is_done(processor, emu, engine)
    broken = next(r for r in inbox_rows(engine) if r.update_id == 1)
    assert "KeyError" in (broken.error or "") and processor.given_up == 1
    assert echoes(engine, BOB) == ["echo: fine"]
