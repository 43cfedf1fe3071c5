"""/console in the bot: a link for staff in a private chat only; residents and group chats get none."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, select
from test_tickets import make_world

from bot.console_cmd import cmd_console
from bot.context import BotContext
from cases.models import OutboxMessage, WebLogin
from cases.rules.schema import Rules


def _texts(session: Session, chat_id: int) -> list[str]:
    rows = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)).all()
    return [str(m.payload.get("text", "")) for m in rows]


def test_console_link_only_for_staff_in_private(engine: Engine, rules: Rules, now: datetime) -> None:
    ctx = BotContext.create(rules, secret="s")
    ctx.console_url, ctx.console_secret = "https://console.example.org", "web-secret"
    with Session(engine) as session:
        world = make_world(session, rules, now)
        leader, resident = world.leader, world.reporter
        cmd_console(session, ctx, leader, leader.telegram_id, now=now)
        cmd_console(session, ctx, leader, -100500, now=now)  # a group chat
        cmd_console(session, ctx, resident, resident.telegram_id, now=now)
        session.commit()
        [link] = _texts(session, leader.telegram_id)
        assert "https://console.example.org/login/" in link
        assert "私聊" in _texts(session, -100500)[0]
        assert "工作人员" in _texts(session, resident.telegram_id)[0]
        [stored] = session.exec(select(WebLogin)).all()
        assert stored.person_id == leader.id and stored.token_hash not in link
