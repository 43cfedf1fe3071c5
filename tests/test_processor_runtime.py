"""The whole runtime against the emulator over HTTP: polling, webhook, leadership, jobs, replay, shutdown."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from telegram import Update

from bot.receiver import store_batch
from bot.runtime import Job, Runtime
from bot.sending import queue_message
from cases.db import session_scope
from cases.models import InboxUpdate, JobRun
from cases.settings import Settings
from emulator import BotApiEmulator

pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Please use 'Bot.:telegram.warnings.PTBUserWarning"),
]

TOKEN = "4242:TEST-token"
ALICE, BOB = 5001, 5002
FAST = {"poll_interval": 0.05}


class Echo:
    """Stand-in handler: queues ``echo: TEXT`` (optionally slowly, to catch a shutdown mid-transaction)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[str] = []
        self.delay = delay
        self.started = threading.Event()

    def __call__(self, session: Session, update: Update, *, now: datetime) -> None:
        message = update.effective_message
        assert message is not None and message.text is not None
        self.calls.append(message.text)
        self.started.set()
        if self.delay:
            time.sleep(self.delay)
        queue_message(session, chat_id=message.chat_id, text=f"echo: {message.text}", now=now)


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, webhook_retry_delay=0.05) as e:
        yield e


def runtime(emu: BotApiEmulator, engine: Engine, handler: Echo, jobs: list[Job] | None = None,
            *, name: str = "p1", lease_ttl: float = 3.0) -> Runtime:
    settings = Settings(token=TOKEN, api_base_url=emu.base_url, webhook_secret="runtime-secret")
    return Runtime(settings, engine, None, handler, jobs=jobs or [], holder=name, lease_ttl=lease_ttl,
                   poll_timeout=1, processor_options=FAST, sender_options=FAST)


def texts(emu: BotApiEmulator, chat_id: int) -> list[str | None]:
    return [m.text for m in emu.messages_to(chat_id)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def inbox(engine: Engine) -> list[InboxUpdate]:
    with session_scope(engine) as session:
        return list(session.exec(select(InboxUpdate).order_by(InboxUpdate.update_id)))  # type: ignore[arg-type]


async def test_polling_round_trip_replays_stored_updates_and_runs_jobs(emu: BotApiEmulator, engine: Engine) -> None:
    stored_before_crash = emu.send_text(BOB, "from before the crash")
    store_batch(engine, [stored_before_crash])
    runs: list[datetime] = []

    def tick(engine: Engine, now: datetime) -> None:
        runs.append(now)
        if len(runs) == 1:
            with session_scope(engine) as session:
                queue_message(session, chat_id=BOB, text="tick", dedupe_key="tick-1", now=now)

    handler = Echo()
    rt = runtime(emu, engine, handler, [("tick", 0.1, tick)])
    await rt.start()
    try:
        assert rt.is_leader
        emu.send_text(ALICE, "hello")
        await emu.wait_for(lambda: texts(emu, ALICE) == ["echo: hello"] and len(texts(emu, BOB)) == 2, timeout=20)
    finally:
        await rt.stop()
    assert sorted(texts(emu, BOB), key=str) == ["echo: from before the crash", "tick"]
    assert sorted(handler.calls) == ["from before the crash", "hello"], "each update handled once"
    assert all(row.processed_at is not None for row in inbox(engine))
    assert emu.duplicate_sends() == [] and emu.pending_updates() == []


async def test_job_runs_are_recorded_for_the_status_command(emu: BotApiEmulator, engine: Engine) -> None:
    def fine(engine: Engine, now: datetime) -> None:
        pass

    def broken(engine: Engine, now: datetime) -> None:
        raise RuntimeError("the rules file vanished")

    rt = runtime(emu, engine, Echo(), [("fine", 0.05, fine), ("broken", 0.05, broken)], name="p1")
    await rt.start()
    try:
        def recorded() -> dict[str, JobRun]:
            with Session(engine) as s:
                return {row.name: row for row in s.exec(select(JobRun))}

        def both_ran_twice() -> bool:
            runs = recorded()  # one snapshot: two reads could see a row appear in between
            return ("fine" in runs and runs["fine"].last_ok_at is not None and runs["fine"].runs >= 2
                    and "broken" in runs and runs["broken"].failures >= 2)

        await emu.wait_for(both_ran_twice, timeout=20)
    finally:
        await rt.stop()
    runs = recorded()
    assert runs["fine"].last_ok_at is not None and runs["fine"].last_error is None and runs["fine"].failures == 0
    assert runs["broken"].last_ok_at is None and runs["broken"].failures >= 2
    assert runs["broken"].last_error == "RuntimeError: the rules file vanished"
    assert runs["fine"].holder == "p1" and runs["fine"].interval_seconds == 0.05


async def test_stop_finishes_the_transaction_under_way(emu: BotApiEmulator, engine: Engine) -> None:
    handler = Echo(delay=0.5)
    rt = runtime(emu, engine, handler)
    await rt.start()
    emu.send_text(ALICE, "slow")
    await asyncio.to_thread(handler.started.wait, 20)
    await rt.stop()
    [row] = inbox(engine)
    assert row.processed_at is not None, "the handler's transaction was allowed to commit"

    again = runtime(emu, engine, handler)
    await again.start()
    try:
        await emu.wait_for(lambda: texts(emu, ALICE) == ["echo: slow"], timeout=20)
    finally:
        await again.stop()
    assert handler.calls == ["slow"]


async def test_webhook_leader_and_follower_with_takeover(emu: BotApiEmulator, engine: Engine) -> None:
    runs = {"p1": 0, "p2": 0}

    def counting(name: str) -> Job:
        def job(engine: Engine, now: datetime) -> None:
            runs[name] += 1
        return (f"count-{name}", 0.05, job)

    first_handler, second_handler = Echo(), Echo()
    port1, port2 = free_port(), free_port()
    p1 = runtime(emu, engine, first_handler, [counting("p1")], name="p1", lease_ttl=0.9)
    p2 = runtime(emu, engine, second_handler, [counting("p2")], name="p2", lease_ttl=0.9)
    await p1.start(webhook_url=f"http://127.0.0.1:{port1}", listen="127.0.0.1", port=port1)
    await p2.start(webhook_url=f"http://127.0.0.1:{port2}", listen="127.0.0.1", port=port2)
    try:
        assert p1.is_leader and not p2.is_leader
        assert emu.webhook is not None and emu.webhook.url.startswith(f"http://127.0.0.1:{port1}/")
        assert emu.webhook.secret_token == "runtime-secret"
        emu.send_text(ALICE, "one")
        await emu.wait_for(lambda: texts(emu, ALICE) == ["echo: one"], timeout=20)
        await emu.wait_for(lambda: runs["p1"] >= 2, timeout=20)
        assert runs["p2"] == 0 and second_handler.calls == [], "followers only receive"

        await p1.stop()
        await emu.wait_for(lambda: p2.is_leader, timeout=20)
        assert emu.webhook is not None and emu.webhook.url.startswith(f"http://127.0.0.1:{port2}/")
        emu.send_text(ALICE, "two")
        await emu.wait_for(lambda: texts(emu, ALICE) == ["echo: one", "echo: two"], timeout=20)
        assert second_handler.calls == ["two"] and first_handler.calls == ["one"]
        await emu.wait_for(lambda: runs["p2"] >= 1, timeout=20)
    finally:
        await p1.stop()
        await p2.stop()
    assert emu.duplicate_sends() == []
