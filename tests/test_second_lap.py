"""A ticket's second lap: after a hand-back or a reopen, reminders, warnings and the escalation ladder
are sent again (outbox dedupe keys name the event that caused each message, not counters that repeat)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.context import BotContext
from bot.notifier import TelegramNotifier
from cases.db import session_scope
from cases.models import OutboxMessage, Person
from cases.services import tickets as svc
from cases.sweep import run_sweep
from tests.test_sweep import RULES, T0, add_ticket, seed_people


def _sweep(engine: Engine, notifier: TelegramNotifier, at: datetime) -> None:
    with session_scope(engine) as s:
        run_sweep(s, rules=RULES, notifier=notifier, now=at, digests=False)


def _count(engine: Engine, chat_id: int, fragment: str) -> int:
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage).where(col(OutboxMessage.chat_id) == chat_id)).all()
        return sum(fragment in str(r.payload.get("text", "")) for r in rows)


def _world(engine: Engine) -> tuple[TelegramNotifier, dict[str, Person]]:
    with session_scope(engine) as s:
        people = seed_people(s)
    return TelegramNotifier(BotContext.create(RULES, secret="second-lap")), people


def test_claim_reminders_are_sent_again_after_a_hand_back(engine: Engine) -> None:
    notifier, people = _world(engine)
    worker = people["worker"]
    with session_scope(engine) as s:
        tid = add_ticket(s, RULES, people).id
        assert tid is not None
    _sweep(engine, notifier, T0 + timedelta(hours=2, minutes=1))
    assert _count(engine, worker.telegram_id, "认领") == 1
    back = T0 + timedelta(hours=3)
    with session_scope(engine) as s:
        svc.claim(s, ticket_id=tid, worker=s.get(Person, worker.id), rules=RULES, now=back)  # type: ignore[arg-type]
    with session_scope(engine) as s:
        svc.release(s, ticket_id=tid, actor=s.get(Person, worker.id), rules=RULES, now=back)  # type: ignore[arg-type]
    _sweep(engine, notifier, back + timedelta(hours=2, minutes=1))
    assert _count(engine, worker.telegram_id, f"#{tid}") == 2, "the reminder after the hand-back is a new message"
    _sweep(engine, notifier, back + timedelta(hours=2, minutes=2))
    assert _count(engine, worker.telegram_id, f"#{tid}") == 2, "a sweep again repeats nothing"


def test_the_warning_and_the_ladder_are_sent_again_after_a_reopen(engine: Engine) -> None:
    notifier, people = _world(engine)
    worker, leader, resident = people["worker"], people["grid_leader"], people["resident"]
    with session_scope(engine) as s:
        tid = add_ticket(s, RULES, people, status="claimed", holder="worker").id
        assert tid is not None
    _sweep(engine, notifier, T0 + timedelta(hours=25))
    warned, escalated = _count(engine, worker.telegram_id, "将于"), _count(engine, leader.telegram_id, "第 1 级")
    assert (escalated, warned) == (1, 0), "past the deadline the warning is dropped and the ladder starts"
    again = T0 + timedelta(hours=26)
    with session_scope(engine) as s:
        svc.resolve(s, ticket_id=tid, actor=s.get(Person, worker.id), rules=RULES, now=again)  # type: ignore[arg-type]
        svc.reopen(s, ticket_id=tid, actor=s.get(Person, resident.id), rules=RULES, now=again)  # type: ignore[arg-type]
        svc.claim(s, ticket_id=tid, worker=s.get(Person, worker.id), rules=RULES, now=again)  # type: ignore[arg-type]
    _sweep(engine, notifier, again + timedelta(hours=20))
    assert _count(engine, worker.telegram_id, "将于") == 1, "the holder is warned on the second lap"
    _sweep(engine, notifier, again + timedelta(hours=25))
    assert _count(engine, leader.telegram_id, "第 1 级") == 2, "the ladder climbs again after the reopen"
    _sweep(engine, notifier, again + timedelta(hours=25, minutes=5))
    assert _count(engine, leader.telegram_id, "第 1 级") == 2
