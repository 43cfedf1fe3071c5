"""The bot behind a webhook: the emulator POSTs updates with the secret token header; wrong secrets get 403."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from bot.app import App, build_app
from bot.receiver import SECRET_HEADER
from cases.clock import utcnow
from cases.db import session_scope
from cases.models import InboxUpdate, Ticket
from cases.services.people import get_or_create_person, grant_role
from cases.settings import Settings
from emulator import BotApiEmulator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "454545:WEBHOOK-test-token"
RESIDENT, WORKER = 8101, 8201
GRID = "taizimiao-1"  # 金鹗小区5栋
WAIT = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Webhooked:
    """The emulator and a bot serving a webhook on 127.0.0.1."""

    emu: BotApiEmulator
    app: App

    def tickets(self) -> list[Ticket]:
        with session_scope(self.app.engine) as session:
            return list(session.exec(select(Ticket)).all())

    def inbox(self) -> list[InboxUpdate]:
        with session_scope(self.app.engine) as session:
            return list(session.exec(select(InboxUpdate)).all())


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Webhooked]:
    async with BotApiEmulator(token=TOKEN, webhook_retry_delay=0.05) as emu:
        settings = Settings(token=TOKEN, api_base_url=emu.base_url, database_url=f"sqlite:///{tmp_path / 'w.db'}",
                            rules=str(ROOT / "routing_rules.yaml"), sweep_seconds=3600)
        app = build_app(settings, runtime_options={"processor_options": {"poll_interval": 0.2},
                                                   "sender_options": {"poll_interval": 0.1}})
        with session_scope(app.engine) as session:
            worker = get_or_create_person(session, telegram_id=WORKER, name="王师傅", language="zh", now=utcnow())
            grant_role(session, person=worker, role="worker", scope=GRID, rules=app.rules, now=utcnow())
        emu.add_user(WORKER, "王师傅", language_code="zh", started=True)
        port = _free_port()
        await app.runtime.start(webhook_url=f"http://127.0.0.1:{port}", listen="127.0.0.1", port=port)
        try:
            await emu.wait_for(lambda: emu.webhook is not None, timeout=WAIT)
            yield Webhooked(emu, app)
        finally:
            await app.runtime.stop()
            app.engine.dispose()


async def test_report_arrives_by_webhook_post_with_the_secret_and_is_answered(bot: Webhooked) -> None:
    emu = bot.emu
    assert emu.webhook is not None and emu.webhook.secret_token, "setWebhook registered a secret token"
    assert emu.webhook.url.startswith("http://127.0.0.1:")
    emu.add_user(RESIDENT, "陈阿姨", language_code="zh-hans")
    update = emu.send_text(RESIDENT, "金鹗小区5栋楼道灯坏了")
    await emu.wait_for(lambda: (update["update_id"], 200) in emu.webhook_deliveries, timeout=WAIT)
    reply = await emu.wait_for(lambda: [m for m in emu.messages_to(RESIDENT) if m.from_bot], timeout=WAIT)
    assert "已受理，工单号 #1" in (reply[0].text or "")
    await emu.wait_for(lambda: emu.find_button(WORKER, "认领"), timeout=WAIT)
    (ticket,) = bot.tickets()
    assert (ticket.chat_id, ticket.source_message_id, ticket.area) == (
        RESIDENT, update["message"]["message_id"], GRID)
    assert emu.calls_to("getUpdates") == [], "webhook mode never polls"
    assert [d for d in emu.webhook_deliveries if d[1] != 200] == []


async def test_wrong_or_missing_secret_gets_403_and_stores_nothing(bot: Webhooked) -> None:
    emu = bot.emu
    assert emu.webhook is not None and emu.webhook.secret_token
    url, secret = emu.webhook.url, emu.webhook.secret_token
    emu.add_user(RESIDENT, "陈阿姨", language_code="zh-hans", started=True)
    forged = {"update_id": 999_001, "message": {
        "message_id": 77, "date": 1_700_000_000, "text": "金鹗小区5栋楼道灯坏了",
        "chat": {"id": RESIDENT, "type": "private", "first_name": "陈阿姨"},
        "from": {"id": RESIDENT, "is_bot": False, "first_name": "陈阿姨"}}}
    async with aiohttp.ClientSession() as http:
        for headers in ({SECRET_HEADER: secret + "x"}, {SECRET_HEADER: ""}, {}):
            async with http.post(url, json=forged, headers=headers) as resp:
                assert resp.status == 403, headers
        assert bot.inbox() == [] and bot.tickets() == [], "a forged POST stores nothing"

        # The same update with the right secret is committed before the 200 comes back.
        async with http.post(url, json=forged, headers={SECRET_HEADER: secret}) as resp:
            assert resp.status == 200
        assert [row.update_id for row in bot.inbox()] == [999_001]
    await emu.wait_for(lambda: bot.tickets(), timeout=WAIT)
    assert [(t.chat_id, t.source_message_id) for t in bot.tickets()] == [(RESIDENT, 77)]
