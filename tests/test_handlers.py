"""Handlers in isolation (no network): one transaction per update, idempotent intake, give-up apology."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from telegram import Update

from bot.context import BotContext
from bot.handlers import handle_update, on_give_up
from cases.db import session_scope
from cases.models import OutboxMessage, Ticket
from cases.rules.schema import Rules

RESIDENT = 777


def message_update(update_id: int, message_id: int, text: str, *, lang: str = "zh-hans") -> Update:
    payload: dict[str, Any] = {
        "update_id": update_id,
        "message": {
            "message_id": message_id, "date": 1_700_000_000, "text": text,
            "chat": {"id": RESIDENT, "type": "private", "first_name": "陈"},
            "from": {"id": RESIDENT, "is_bot": False, "first_name": "陈", "language_code": lang},
        },
    }
    return Update.de_json(payload, None)


@pytest.fixture
def ctx(rules: Rules) -> BotContext:
    return BotContext.create(rules, secret="test-secret")


def run(engine: Engine, ctx: BotContext, update: Update, now: datetime) -> None:
    with session_scope(engine) as session:
        handle_update(session, update, ctx=ctx, now=now)


def outbox(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))  # type: ignore[arg-type]


def test_the_same_message_redelivered_under_a_new_update_id_opens_one_ticket(engine: Engine, ctx: BotContext,
                                                                            now: datetime) -> None:
    run(engine, ctx, message_update(1, 10, "金鹗小区5栋楼道灯坏了"), now)
    sent_after_first = len(outbox(engine))
    run(engine, ctx, message_update(2, 10, "金鹗小区5栋楼道灯坏了"), now)
    with session_scope(engine) as session:
        tickets = session.exec(select(Ticket)).all()
    assert len(tickets) == 1
    assert len(outbox(engine)) == sent_after_first, "the resident is not answered twice"
    assert any("已受理，工单号 #1" in (row.payload.get("text") or "") for row in outbox(engine))


def test_a_failing_handler_leaves_nothing_behind(engine: Engine, ctx: BotContext, now: datetime) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), session_scope(engine) as session:
        handle_update(session, message_update(1, 11, "金鹗小区5栋楼道灯坏了"), ctx=ctx, now=now)
        raise Boom
    with session_scope(engine) as session:
        assert session.exec(select(Ticket)).all() == []
    assert outbox(engine) == []


def test_giving_up_apologises_once_in_the_residents_language(engine: Engine, ctx: BotContext, now: datetime) -> None:
    update = message_update(5, 12, "hello", lang="en")
    for _ in range(2):
        with session_scope(engine) as session:
            on_give_up(session, update, "RuntimeError: boom", now=now)
    rows = outbox(engine)
    assert len(rows) == 1
    assert rows[0].chat_id == RESIDENT
    assert "Sorry, something went wrong" in rows[0].payload["text"]


def test_english_speakers_are_answered_in_english(engine: Engine, ctx: BotContext, now: datetime) -> None:
    run(engine, ctx, message_update(1, 13, "/start", lang="en-GB"), now)
    texts = [row.payload.get("text", "") for row in outbox(engine)]
    assert texts and texts[0].startswith("Hello")
