"""/join has an attempt limit: after five wrong codes the chat is locked out (even a right code is refused
until the lockout ends) and every supervisor is told once; a right code clears the count."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.context import BotContext
from cases.db import session_scope
from cases.models import OutboxMessage, RoleAssignment
from cases.rules.schema import Rules
from cases.services import join_guard
from cases.services.people import create_invite, get_or_create_person, grant_role
from tests import inputs
from tests.test_refusals import run

STRANGER, SUPERVISOR, OTHER_SUPERVISOR = 666, 4001, 4002


@pytest.fixture
def ctx(rules: Rules) -> BotContext:
    return BotContext.create(rules, secret="test-secret")


def _texts(engine: Engine, chat_id: int) -> list[str]:
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage).where(col(OutboxMessage.chat_id) == chat_id)
                      .order_by(col(OutboxMessage.id))).all()
    return [str(r.payload.get("text", "")) for r in rows]


def test_wrong_codes_lock_the_chat_out_and_supervisors_hear_once(engine: Engine, ctx: BotContext, rules: Rules,
                                                                   now: datetime) -> None:
    with session_scope(engine) as s:
        for telegram_id in (SUPERVISOR, OTHER_SUPERVISOR):
            person = get_or_create_person(s, telegram_id=telegram_id, name=f"督导{telegram_id}", now=now)
            grant_role(s, person=person, role="supervisor", scope="jineshan", rules=rules, now=now)
        code = create_invite(s, role="worker", scope="taizimiao-1", expires_in=timedelta(days=3), now=now,
                             rules=rules)
    for n in range(join_guard.MAX_FAILURES):
        run(engine, ctx, inputs.message(STRANGER, f"/join WRONG-CODE-{n}"), now + timedelta(seconds=n))
    told = _texts(engine, STRANGER)
    assert sum("邀请码无效" in t for t in told) == join_guard.MAX_FAILURES - 1
    assert "没有这个邀请码" in told[0] and not any(ch.isascii() and ch.isalpha() for ch in told[0]), told[0]
    assert "输错次数过多" in told[-1] and "60 分钟" in told[-1]
    for supervisor in (SUPERVISOR, OTHER_SUPERVISOR):
        assert sum("连续 5 次输错邀请码" in t for t in _texts(engine, supervisor)) == 1
    # Locked: more tries, even the right code, are refused without counting or telling anyone again.
    later = now + timedelta(minutes=10)
    run(engine, ctx, inputs.message(STRANGER, "/join WRONG-AGAIN"), later)
    run(engine, ctx, inputs.message(STRANGER, f"/join {code}"), later)
    assert sum("输错次数过多" in t for t in _texts(engine, STRANGER)) == 3
    assert sum("输错邀请码" in t for t in _texts(engine, SUPERVISOR)) == 1
    with Session(engine) as s:
        assert s.exec(select(RoleAssignment).where(col(RoleAssignment.role) == "worker")).all() == []
    # After the lockout the right code works and clears the count.
    after = now + join_guard.LOCKOUT + timedelta(minutes=1)
    run(engine, ctx, inputs.message(STRANGER, f"/join {code}"), after)
    assert "网格员" in _texts(engine, STRANGER)[-2] or "网格员" in _texts(engine, STRANGER)[-1]
    with Session(engine) as s:
        assert s.get(join_guard.JoinGuard, STRANGER) is None


def test_wrong_codes_spread_out_never_lock(engine: Engine, ctx: BotContext, now: datetime) -> None:
    for n in range(12):
        run(engine, ctx, inputs.message(STRANGER, f"/join NOPE-{n}"), now + n * (join_guard.WINDOW / 2))
    assert not any("输错次数过多" in t for t in _texts(engine, STRANGER))
