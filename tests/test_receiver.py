"""Receiving updates: stored and committed before Telegram (the emulator, over HTTP) considers them delivered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import select
from telegram.ext import ExtBot

from bot import receiver as receiver_module
from bot.ptb import make_bot
from bot.receiver import SECRET_HEADER, PollingReceiver, WebhookReceiver, set_webhook, webhook_secret
from cases.db import session_scope
from cases.models import InboxUpdate
from cases.settings import Settings
from emulator import BotApiEmulator

pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Please use 'Bot.:telegram.warnings.PTBUserWarning"),
]

TOKEN = "4242:TEST-token"
ALICE, BOB = 3001, 3002
SECRET = "s3cret_token-for-tests"


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, webhook_retry_delay=0.05) as e:
        yield e


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[ExtBot]:
    b = make_bot(Settings(token=TOKEN, api_base_url=emu.base_url))
    await b.initialize()
    yield b
    await b.shutdown()


def stored(engine: Engine) -> list[InboxUpdate]:
    with session_scope(engine) as session:
        return list(session.exec(select(InboxUpdate).order_by(InboxUpdate.update_id)))  # type: ignore[arg-type]


def _failing_store(*args: Any, **kwargs: Any) -> int:
    raise RuntimeError("database is down")


async def test_polling_commits_before_confirming_and_redelivery_is_stored_once(
    emu: BotApiEmulator, engine: Engine, bot: ExtBot
) -> None:
    one = emu.send_text(ALICE, "one")
    two = emu.send_text(BOB, "two")
    poller = PollingReceiver(bot, engine, timeout=0)
    assert await poller.poll_once() == 2
    assert [row.update_id for row in stored(engine)] == [one["update_id"], two["update_id"]]
    assert stored(engine)[0].payload["message"]["text"] == "one"
    assert len(emu.pending_updates()) == 2, "not confirmed until the next getUpdates"

    restarted = PollingReceiver(bot, engine, timeout=0)  # a crash before the next call
    assert await restarted.poll_once() == 2, "Telegram redelivers the unconfirmed updates"
    assert restarted.stored == 0 and len(stored(engine)) == 2

    await restarted.poll_once()
    assert emu.pending_updates() == []


async def test_polling_does_not_advance_when_the_commit_fails(
    emu: BotApiEmulator, engine: Engine, bot: ExtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    update = emu.send_text(ALICE, "keep me")
    poller = PollingReceiver(bot, engine, timeout=0)
    monkeypatch.setattr(receiver_module.inbox, "store", _failing_store)
    with pytest.raises(RuntimeError):
        await poller.poll_once()
    assert poller.offset is None and stored(engine) == []
    monkeypatch.undo()
    await poller.poll_once()
    assert [row.update_id for row in stored(engine)] == [update["update_id"]]


async def test_polling_loop_deletes_webhook_and_survives_errors(
    emu: BotApiEmulator, engine: Engine, bot: ExtBot
) -> None:
    await set_webhook(bot, "http://127.0.0.1:9/", SECRET)
    emu.fail_next(2, status=502, methods=["getUpdates"])
    woken = asyncio.Event()
    poller = PollingReceiver(bot, engine, timeout=1, backoff_base=0.01, on_stored=woken.set)
    task = asyncio.create_task(poller.run())
    try:
        emu.send_text(ALICE, "hello")
        await asyncio.wait_for(woken.wait(), timeout=20)
    finally:
        poller.stop()
        await asyncio.wait_for(task, timeout=20)
    assert emu.webhook is None, "polling removes the webhook first"
    assert [c.status for c in emu.calls_to("getUpdates")][:2] == [502, 502]
    assert [row.payload["message"]["text"] for row in stored(engine)] == ["hello"]


@pytest.fixture
async def webhook(engine: Engine) -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(engine, secret=SECRET)
    await receiver.start("127.0.0.1", 0)
    yield receiver
    await receiver.stop()


async def test_webhook_stores_then_answers_200(
    emu: BotApiEmulator, engine: Engine, bot: ExtBot, webhook: WebhookReceiver
) -> None:
    url = await set_webhook(bot, f"http://127.0.0.1:{webhook.port}", SECRET)
    assert emu.webhook is not None and emu.webhook.url == url and emu.webhook.secret_token == SECRET
    update = emu.send_text(ALICE, "via webhook")
    await emu.wait_for(lambda: (update["update_id"], 200) in emu.webhook_deliveries, timeout=10)
    assert [row.payload["message"]["text"] for row in stored(engine)] == ["via webhook"]
    assert emu.pending_updates() == []


async def test_webhook_rejects_a_wrong_secret(engine: Engine, webhook: WebhookReceiver) -> None:
    update = {"update_id": 77, "message": {"message_id": 1, "date": 0, "chat": {"id": ALICE, "type": "private"},
                                           "text": "forged"}}
    url = f"http://127.0.0.1:{webhook.port}{webhook.path}"
    async with httpx.AsyncClient() as client:
        assert (await client.post(url, json=update, headers={SECRET_HEADER: "wrong"})).status_code == 403
        assert (await client.post(url, json=update)).status_code == 403
        assert stored(engine) == []
        for _ in range(2):  # Telegram redelivering the same update
            response = await client.post(url, json=update, headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200
        assert (await client.post(url, content=b"{not json", headers={SECRET_HEADER: SECRET})).status_code == 400
    assert [row.update_id for row in stored(engine)] == [77]


async def test_webhook_answers_500_when_the_commit_fails_and_telegram_redelivers(
    emu: BotApiEmulator, engine: Engine, bot: ExtBot, webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_store = receiver_module.inbox.store
    calls = {"n": 0}

    def flaky_store(*args: Any, **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database is down")
        return real_store(*args, **kwargs)

    monkeypatch.setattr(receiver_module.inbox, "store", flaky_store)
    await set_webhook(bot, f"http://127.0.0.1:{webhook.port}", SECRET)
    update = emu.send_text(ALICE, "second time lucky")
    await emu.wait_for(lambda: (update["update_id"], 200) in emu.webhook_deliveries, timeout=10)
    assert [s for uid, s in emu.webhook_deliveries if uid == update["update_id"]] == [500, 200]
    assert [row.update_id for row in stored(engine)] == [update["update_id"]]


def test_webhook_secret_is_stable_and_valid() -> None:
    derived = webhook_secret(TOKEN)
    assert derived == webhook_secret(TOKEN) != webhook_secret("1:other")
    assert derived.isalnum() and 1 <= len(derived) <= 256
    assert webhook_secret(TOKEN, "configured") == "configured"
