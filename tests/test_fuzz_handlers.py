"""Seeded fuzzing of every handler through the real path short of HTTP (the inbox, the inbox processor, one
transaction per update): random commands and arguments, reports, stickers, edits and button data, valid,
stale, tampered and forged. Every update succeeds at its first attempt, every command, report and press is
answered, and nothing is logged at WARNING or above."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from telegram import Update

from bot import keyboards as kb
from bot.context import BotContext
from bot.handlers import handle_update
from bot.processor import InboxProcessor
from cases import inbox
from cases.db import session_scope
from cases.models import InboxUpdate, OutboxMessage, Person, Ticket
from cases.rules.schema import Rules
from cases.services.people import get_or_create_person, grant_role
from tests import inputs

RESIDENTS = [701, 702, 703]
STAFF = {2001: ("worker", "taizimiao-1"), 2002: ("worker", "taizimiao-2"), 3001: ("leader", "taizimiao"),
         4001: ("supervisor", "jineshan"), 5001: ("inspector", "dongting"), 2501: ("worker", "team:gas-company")}
COMMANDS = ["start", "help", "lang", "language", "home", "mine", "queue", "my", "overdue", "cancel", "join",
            "ticket", "pause", "resume", "merge", "find", "bind", "skip", "nonsense", "TICKET", "ticket@gridbot"]
ACTIONS = [kb.CLAIM, kb.DETAILS, kb.NOTE_PUBLIC, kb.NOTE_INTERNAL, kb.RESOLVE, kb.RELEASE, kb.TRANSFER,
           kb.TRANSFER_TO, kb.REASSIGN, kb.REASSIGN_TO, kb.CANCEL, kb.FIXED, kb.NOT_FIXED, kb.RATE, kb.CATEGORY,
           kb.LOCATE_COMMUNITY, kb.LOCATE_GRID, kb.USE_HOME, kb.HOME_COMMUNITY, kb.HOME_GRID, kb.LANG,
           kb.DISPATCH, "zz"]
REPORTS = ["金鹗小区5栋楼道灯坏了", "太子庙门口垃圾三天没人收", "好大的煤气味",
           "The bin at Jin'e Estate is overflowing", "路灯", "水管爆了 桥南", "?", "🙂🙂🙂"]


def _number(rng: random.Random, tickets: int) -> str:
    return rng.choice([str(rng.randint(1, max(1, tickets))), f"#{rng.randint(1, tickets + 3)}", "0", "-3",
                       "99999999999999999999999", "9223372036854775808", "2147483648", "１２", "١٢", "1e3", "#",
                       "abc", "\x00", "12\x00", ""])


def _word(rng: random.Random) -> str:
    return rng.choice(["等待", "路灯", "x" * rng.randint(1, 300), "ABCD-EFGH-JK", "taizimiao-1", "dongting", "%",
                       "_", "'", "\\", "\x00", "🙂", "grid:taizimiao-1", "team:gas-company", "  "])


def _arg(rng: random.Random, people: list[int], tickets: int) -> object:
    return rng.choice([rng.randint(1, tickets + 2), rng.randint(0, 40), rng.choice(people), -1, 2**31, 10**30,
                       "g0", "t0", "g999", "zh", "en", "fr", "x", ""])


def _update(rng: random.Random, ctx: BotContext, people: list[int], tickets: int, messages: list[tuple[int, int]],
            step: int) -> tuple[Update, int, bool]:
    """A random update, the chat that must hear back, and whether an answer is owed."""
    user = rng.choice(RESIDENTS + list(STAFF) + [9000 + step])
    lang = rng.choice(["zh-hans", "en", "de", None])
    kind = rng.random()
    if kind < 0.35:
        command = rng.choice(COMMANDS)
        args = [rng.choice([_number(rng, tickets), _word(rng)]) for _ in range(rng.randint(0, 3))]
        return inputs.message(user, " ".join([f"/{command}", *args]), lang=lang or "zh"), user, True
    if kind < 0.55:
        message_id = 10_000 + step
        messages.append((user, message_id))
        text = rng.choice(REPORTS) + rng.choice(["", "\x00", " 5栋", "\n" * 3, "x" * rng.randint(0, 5000)])
        return inputs.message(user, text, lang=lang or "zh", message_id=message_id), user, bool(text.strip())
    if kind < 0.6:
        return inputs.sticker(user), user, True
    if kind < 0.7 and messages:
        owner, message_id = rng.choice(messages)
        return inputs.edited(owner, message_id, rng.choice(REPORTS) + rng.choice(["", "\x00", "!"])), owner, False
    action = rng.choice(ACTIONS)
    data = ctx.codec.encode(action, *[_arg(rng, people, tickets) for _ in range(rng.randint(0, 2))])
    tamper = rng.random()
    if tamper < 0.1:
        data = data[:-1] + ("A" if data[-1] != "A" else "B")  # a forged MAC
    elif tamper < 0.15:
        data = rng.choice(["", "1:c:1", "x" * 64, "1:c:1:" + "A" * 8, "\x00", "2:c:1:abcdefgh"])
    return inputs.press(user, data, lang=lang or "zh", message_id=rng.randint(1, 50)), 0, True


@pytest.fixture
def ctx(rules: Rules) -> BotContext:
    return BotContext.create(rules, secret="fuzz-secret")


@pytest.fixture
def staffed(engine: Engine, rules: Rules, now: datetime) -> Iterator[tuple[Engine, list[int]]]:
    ids = []
    with session_scope(engine) as s:
        for telegram_id, (role, scope) in STAFF.items():
            person = get_or_create_person(s, telegram_id=telegram_id, name=f"p{telegram_id}", language="zh", now=now)
            grant_role(s, person=person, role=role, scope=scope, rules=rules, now=now)
            assert person.id is not None
            ids.append(person.id)
    yield engine, ids


def _answers(engine: Engine, since: int, chat_id: int) -> int:
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage.chat_id).where(col(OutboxMessage.id) > since)).all()
    return sum(1 for chat in rows if chat in (chat_id, 0))


def _last(engine: Engine) -> int:
    with Session(engine) as s:
        return max(s.exec(select(OutboxMessage.id)).all() or [0])  # type: ignore[type-var]


@pytest.mark.parametrize("seed", [8, 80])
def test_random_inputs_to_every_handler_are_answered_without_errors(
    staffed: tuple[Engine, list[int]], ctx: BotContext, now: datetime, seed: int, caplog: pytest.LogCaptureFixture,
) -> None:
    engine, people = staffed
    rng = random.Random(seed)
    steps = 250 if engine.dialect.name == "sqlite" else 80
    processor = InboxProcessor(engine, None, lambda s, u, *, now: handle_update(s, u, ctx=ctx, now=now),  # type: ignore[arg-type]
                               max_attempts=1, clock=lambda: now)
    messages: list[tuple[int, int]] = []
    caplog.set_level(logging.WARNING)
    silent: list[str] = []
    for step in range(steps):
        with Session(engine) as s:
            tickets = len(s.exec(select(Ticket.id)).all())
        update, chat, owed = _update(rng, ctx, people, tickets, messages, step)
        since = _last(engine)
        at = now + timedelta(seconds=step)
        with session_scope(engine) as s:
            inbox.store(s, [update.to_dict()], now=at)
        processor.clock = lambda at=at: at  # type: ignore[misc]
        asyncio.run(processor.process_pending())
        with Session(engine) as s:
            row = s.get(InboxUpdate, update.update_id)
            assert row is not None and row.processed_at is not None, f"step {step}: not processed"
            assert row.error is None, f"step {step}: {update.to_dict()} failed: {row.error}"
        if owed and _answers(engine, since, chat) == 0:
            silent.append(repr(update.to_dict()))
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == [], problems[:5]
    assert silent == [], f"{len(silent)} inputs got no answer, e.g. {silent[:3]}"
    with Session(engine) as s:
        assert s.exec(select(Person)).first() is not None
