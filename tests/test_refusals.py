"""Inputs that used to crash a handler are refused politely at once, in the person's language, from the
catalogue; nothing is lost (issue 8 item 4)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from telegram import Update

from bot.context import BotContext
from bot.handlers import handle_update
from bot.keyboards import CLAIM, REASSIGN_TO
from bot.processor import InboxProcessor
from bot.texts import CATALOGUE
from cases import inbox
from cases.db import session_scope
from cases.models import InboxUpdate, OutboxMessage, Ticket
from cases.rules.schema import Rules
from cases.services.people import get_or_create_person, grant_role
from tests import inputs

RESIDENT, WORKER, LEADER, OTHER_WORKER = 777, 2001, 3001, 2009
GRID = "taizimiao-1"


@pytest.fixture
def ctx(rules: Rules) -> BotContext:
    return BotContext.create(rules, secret="test-secret")


@pytest.fixture
def world(engine: Engine, rules: Rules, now: datetime) -> Iterator[Engine]:
    with session_scope(engine) as s:
        for tid, role, scope in ((WORKER, "worker", GRID), (LEADER, "leader", "taizimiao"),
                                 (OTHER_WORKER, "worker", "taizimiao-2")):
            person = get_or_create_person(s, telegram_id=tid, name=f"p{tid}", language="zh", now=now)
            grant_role(s, person=person, role=role, scope=scope, rules=rules, now=now)
    yield engine


def run(engine: Engine, ctx: BotContext, update: Update, now: datetime) -> None:
    """The real path short of HTTP: store the update's JSON in the inbox, let the inbox processor handle it
    (one transaction); it must succeed at the first attempt."""
    with session_scope(engine) as session:
        inbox.store(session, [update.to_dict()], now=now)
    processor = InboxProcessor(engine, None, lambda s, u, *, now: handle_update(s, u, ctx=ctx, now=now),  # type: ignore[arg-type]
                               max_attempts=1, clock=lambda: now)
    asyncio.run(processor.process_pending())
    with Session(engine) as session:
        row = session.get(InboxUpdate, update.update_id)
        assert row is not None and row.processed_at is not None and row.error is None, row


def replies(engine: Engine, chat_id: int, since: int = 0) -> list[str]:
    """Texts queued to ``chat_id`` (and callback answers) after outbox id ``since``."""
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage).where(col(OutboxMessage.id) > since)
                      .order_by(col(OutboxMessage.id))).all()
    return [str(r.payload.get("text", "")) for r in rows if r.chat_id in (chat_id, 0)]


def last_id(engine: Engine) -> int:
    with Session(engine) as s:
        return max(s.exec(select(OutboxMessage.id)).all() or [0])  # type: ignore[type-var]


def answer_to(engine: Engine, ctx: BotContext, update: Update, chat_id: int, now: datetime) -> list[str]:
    """Handle ``update`` (it must not raise) and return what the person was told."""
    since = last_id(engine)
    run(engine, ctx, update, now)
    told = replies(engine, chat_id, since)
    assert told, "every refusal is an answer"
    for text in told:
        assert "Traceback" not in text and "None" not in text
    return told


def report(engine: Engine, ctx: BotContext, now: datetime, text: str = "金鹗小区5栋楼道灯坏了",
           message_id: int = 500) -> Ticket:
    run(engine, ctx, inputs.message(RESIDENT, text, message_id=message_id), now)
    with Session(engine) as s:
        ticket = s.exec(select(Ticket).where(Ticket.source_message_id == message_id)).one()
    return ticket


def zh(key: str) -> str:
    return CATALOGUE[key]["zh"].split("{")[0]


def test_editing_a_report_after_it_was_cancelled(world: Engine, ctx: BotContext, now: datetime) -> None:
    ticket = report(world, ctx, now)
    run(world, ctx, inputs.message(RESIDENT, f"/cancel {ticket.id}"), now)
    told = answer_to(world, ctx, inputs.edited(RESIDENT, 500, "金鹗小区5栋楼道灯又亮了"), RESIDENT, now)
    assert any("已撤销" in t for t in told)
    with Session(world) as s:
        assert s.get(Ticket, ticket.id).text == "金鹗小区5栋楼道灯坏了"  # type: ignore[union-attr]


@pytest.mark.parametrize("command", ["/ticket", "/cancel", "/resume", "/pause"])
@pytest.mark.parametrize("number", ["99999999999999999999999", "#9223372036854775808", "-5", "0"])
def test_a_huge_or_impossible_ticket_number(world: Engine, ctx: BotContext, now: datetime, command: str,
                                            number: str) -> None:
    told = answer_to(world, ctx, inputs.message(WORKER, f"{command} {number} 等待"), WORKER, now)
    assert any("找不到工单" in t or "用法" in t for t in told), told


def test_resume_a_ticket_that_is_not_paused_and_pause_twice(world: Engine, ctx: BotContext, now: datetime) -> None:
    ticket = report(world, ctx, now)
    told = answer_to(world, ctx, inputs.message(WORKER, f"/resume {ticket.id}"), WORKER, now)
    assert any("没有暂停" in t for t in told), told
    assert any("已暂停计时" in t for t in answer_to(world, ctx, inputs.message(WORKER, f"/pause {ticket.id} 等待"),
                                                  WORKER, now))
    told = answer_to(world, ctx, inputs.message(WORKER, f"/pause {ticket.id} 再等等"), WORKER, now)
    assert any("已经在暂停中" in t for t in told), told
    told = answer_to(world, ctx, inputs.message(WORKER, f"/pause {ticket.id} 等待", lang="en"), WORKER, now)
    assert told  # language comes from the person's setting; still an answer


def test_a_sticker_sent_as_a_note(world: Engine, ctx: BotContext, now: datetime) -> None:
    ticket = report(world, ctx, now)
    run(world, ctx, inputs.press(WORKER, ctx.codec.encode(CLAIM, ticket.id)), now)
    run(world, ctx, inputs.press(WORKER, ctx.codec.encode("np", ticket.id)), now)
    told = answer_to(world, ctx, inputs.sticker(WORKER), WORKER, now)
    assert any(zh("note_needs_text") in t for t in told), told


def test_a_stale_reassign_button(world: Engine, ctx: BotContext, now: datetime) -> None:
    ticket = report(world, ctx, now)
    with Session(world) as s:
        other = s.exec(select(Ticket)).first()
        assert other is not None
    from cases.models import Person

    with Session(world) as s:
        outsider = s.exec(select(Person).where(Person.telegram_id == OTHER_WORKER)).one()
    # The leader's list of workers went stale: this worker no longer handles this grid.
    told = answer_to(world, ctx, inputs.press(LEADER, ctx.codec.encode(REASSIGN_TO, ticket.id, outsider.id)),
                     LEADER, now)
    assert told
    # And a Reassign press for a ticket that is already closed.
    run(world, ctx, inputs.message(RESIDENT, f"/cancel {ticket.id}"), now)
    with Session(world) as s:
        worker = s.exec(select(Person).where(Person.telegram_id == WORKER)).one()
    assert answer_to(world, ctx, inputs.press(LEADER, ctx.codec.encode(REASSIGN_TO, ticket.id, worker.id)),
                     LEADER, now)


def test_a_nul_character_in_a_report_becomes_a_ticket(world: Engine, ctx: BotContext, now: datetime) -> None:
    ticket = report(world, ctx, now, text="金鹗小区5栋\x00楼道灯坏了", message_id=501)
    assert "\x00" not in ticket.text and "楼道灯坏了" in ticket.text
    told = answer_to(world, ctx, inputs.edited(RESIDENT, 501, "金鹗小区5栋\x00楼道灯全坏了"), RESIDENT,
                     now + timedelta(minutes=1))
    assert told
