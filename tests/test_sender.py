"""The outbox sender against the Bot API emulator over real HTTP: order, limits, retries, failures."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from telegram.ext import ExtBot

from bot.ptb import make_bot
from bot.sender import OutboxSender, WindowLimiter
from bot.sending import queue_answer_callback, queue_edit, queue_message, queue_photo, split_text, utf16_len
from cases.clock import utcnow
from cases.db import session_scope
from cases.models import OutboxMessage, Person
from cases.settings import Settings
from emulator import BotApiEmulator

pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Please use 'Bot.:telegram.warnings.PTBUserWarning"),
]

TOKEN = "4242:TEST-token"
USERS = [2001 + i for i in range(10)]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as e:
        for uid in USERS:
            e.add_user(uid, started=True)
        yield e


def _bot(base_url: str) -> ExtBot:
    return make_bot(Settings(token=TOKEN, api_base_url=base_url))


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[ExtBot]:
    b = _bot(emu.base_url)
    await b.initialize()
    yield b
    await b.shutdown()


def _sender(engine: Engine, bot: ExtBot) -> OutboxSender:
    return OutboxSender(engine, bot, poll_interval=0.05, backoff_base=0.05, backoff_cap=0.3)


@pytest.fixture
async def sender(engine: Engine, bot: ExtBot) -> AsyncIterator[OutboxSender]:
    s = _sender(engine, bot)
    task = asyncio.create_task(s.run())
    yield s
    s.stop()
    await task


def queue(engine: Engine, sender: OutboxSender | None, fn: Callable[[Session, datetime], object]) -> object:
    """Queue rows in one committed transaction, then wake the sender."""
    with session_scope(engine) as session:
        result = fn(session, utcnow())
    if sender is not None:
        sender.wake()
    return result


def rows(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))  # type: ignore[arg-type]


def unfinished(engine: Engine) -> int:
    return sum(1 for r in rows(engine) if r.sent_at is None and r.failed_at is None)


async def settle(emu: BotApiEmulator, engine: Engine, limit: float = 20.0) -> None:
    """Wait until every outbox row is sent or failed."""
    await emu.wait_for(lambda: unfinished(engine) == 0, timeout=limit)


def texts(emu: BotApiEmulator, chat_id: int) -> list[str | None]:
    return [m.text for m in emu.messages_to(chat_id)]


def test_window_limiter_counts_a_sliding_window() -> None:
    limiter = WindowLimiter(2, 1.0)
    assert limiter.wait(0.0) == 0
    limiter.record(0.0)
    limiter.record(0.4)
    assert limiter.wait(0.5) == pytest.approx(0.5)
    assert limiter.wait(1.0) == 0
    limiter.record(1.0)
    assert limiter.wait(1.2) == pytest.approx(0.2)


@pytest.mark.parametrize("text", [
    "word " * 2000,  # no line breaks: cut between words
    "水" * 9000,  # no spaces at all: hard cuts
    "😀" * 3000,  # two UTF-16 units each, as Telegram counts
    "short",
])
def test_split_text_respects_the_limit_and_loses_nothing(text: str) -> None:
    parts = split_text(text)
    assert all(0 < utf16_len(p) <= 4096 for p in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")
    if text.startswith("word"):
        assert all(set(p.split()) == {"word"} for p in parts), "words are never cut"
    else:
        assert len(parts) == -(-utf16_len(text) // 4096), "hard cuts fill each part"


async def test_messages_delivered_once_in_order(emu: BotApiEmulator, engine: Engine, sender: OutboxSender) -> None:
    def fill(session: Session, now: datetime) -> None:
        for n in range(3):
            for uid in USERS[:4]:
                queue_message(session, chat_id=uid, text=f"m{n} to {uid}", now=now)

    queue(engine, sender, fill)
    await settle(emu, engine)
    for uid in USERS[:4]:
        assert texts(emu, uid) == [f"m{n} to {uid}" for n in range(3)]
    sent = {(r.chat_id, r.result_message_id) for r in rows(engine)}
    assert sent == {(m.chat_id, m.message_id) for uid in USERS[:4] for m in emu.messages_to(uid)}
    assert emu.duplicate_sends() == []
    assert emu.rate_violations() == []


async def test_429_storm_every_message_once_and_retry_after_honoured(
    emu: BotApiEmulator, engine: Engine, sender: OutboxSender
) -> None:
    emu.fail_next(50, status=429, retry_after=1)

    def fill(session: Session, now: datetime) -> None:
        for n in range(3):
            for uid in USERS:
                queue_message(session, chat_id=uid, text=f"storm {n}", now=now)

    queue(engine, sender, fill)
    await settle(emu, engine, limit=60)
    assert all(r.sent_at is not None and r.failed_at is None for r in rows(engine))
    for uid in USERS:
        assert texts(emu, uid) == ["storm 0", "storm 1", "storm 2"]
    assert emu.duplicate_sends() == []
    calls = [c for c in emu.calls if c.method == "sendMessage"]
    assert sum(c.status == 429 for c in calls) == 50
    for uid in USERS:
        mine = [c for c in calls if int(c.params["chat_id"]) == uid]
        for earlier, later in itertools.pairwise(mine):
            if earlier.status == 429:
                assert later.time >= earlier.time + 1 - 0.05, "retry_after not honoured"
    assert emu.rate_violations() == []


async def test_server_errors_are_retried_until_delivered(
    emu: BotApiEmulator, engine: Engine, sender: OutboxSender
) -> None:
    emu.fail_next(3, status=502)
    emu.fail_next(1, status=500)
    queue(engine, sender, lambda s, now: [queue_message(s, chat_id=USERS[0], text=t, now=now) for t in "ab"])
    await settle(emu, engine)
    assert texts(emu, USERS[0]) == ["a", "b"]
    assert [c.status for c in emu.calls_to("sendMessage")] == [502, 502, 502, 500, 200, 200]
    first = rows(engine)[0]
    assert first.attempts >= 4 and first.failed_at is None


async def test_network_errors_keep_the_row_for_later(emu: BotApiEmulator, engine: Engine) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    dead_bot = _bot(f"http://127.0.0.1:{dead_port}/bot")
    queue(engine, None, lambda s, now: queue_message(s, chat_id=USERS[0], text="later", now=now))
    broken = _sender(engine, dead_bot)
    task = asyncio.create_task(broken.run())
    try:
        await emu.wait_for(lambda: rows(engine)[0].attempts >= 2, timeout=20)
    finally:
        broken.stop()
        await task
        await dead_bot.shutdown()
    row = rows(engine)[0]
    assert row.failed_at is None and row.sent_at is None and "NetworkError" in (row.error or "")

    good_bot = _bot(emu.base_url)
    healthy = _sender(engine, good_bot)
    task = asyncio.create_task(healthy.run())
    try:
        await settle(emu, engine)
    finally:
        healthy.stop()
        await task
        await good_bot.shutdown()
    assert texts(emu, USERS[0]) == ["later"]


async def test_blocked_user_is_marked_unreachable(emu: BotApiEmulator, engine: Engine, sender: OutboxSender) -> None:
    blocked, fine = USERS[0], USERS[1]
    emu.block_user(blocked)

    def fill(session: Session, now: datetime) -> None:
        session.add(Person(telegram_id=blocked, name="Blocked", created_at=now))
        session.flush()
        queue_message(session, chat_id=blocked, text="are you there?", now=now)
        queue_message(session, chat_id=fine, text="hello", now=now)

    queue(engine, sender, fill)
    await settle(emu, engine)
    by_chat = {r.chat_id: r for r in rows(engine)}
    assert by_chat[blocked].failed_at is not None and "blocked" in (by_chat[blocked].error or "")
    assert by_chat[fine].sent_at is not None
    with session_scope(engine) as session:
        person = session.exec(select(Person).where(Person.telegram_id == blocked)).one()
        assert person.unreachable


async def test_long_text_is_split_and_sent_in_order(emu: BotApiEmulator, engine: Engine, sender: OutboxSender) -> None:
    text = "\n".join(f"{n:05d} " + "水" * 60 for n in range(150))  # ~10,000 characters
    queued = queue(engine, sender, lambda s, now: queue_message(
        s, chat_id=USERS[0], text=text, reply_markup={"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]},
        now=now,
    ))
    assert isinstance(queued, list) and len(queued) == 3
    await settle(emu, engine)
    got = emu.messages_to(USERS[0])
    assert len(got) == 3 and all(len(m.text or "") <= 4096 for m in got)
    assert "\n".join(m.text or "" for m in got) == text
    assert [b.text for b in got[-1].buttons()] == ["OK"] and got[0].buttons() == []


async def test_edit_of_unsent_row_waits_then_applies(emu: BotApiEmulator, engine: Engine, sender: OutboxSender) -> None:
    emu.fail_next(1, status=429, retry_after=1, methods=["sendMessage"])

    def fill(session: Session, now: datetime) -> None:
        [card] = queue_message(session, chat_id=USERS[0], text="Ticket #1: burst pipe",
                               reply_markup={"inline_keyboard": [[{"text": "Claim", "callback_data": "c1"}]]},
                               now=now)
        queue_edit(session, chat_id=USERS[0], of_outbox_id=card.id, text="Ticket #1: claimed by Li",
                   reply_markup={"inline_keyboard": []}, now=now)

    queue(engine, sender, fill)
    await settle(emu, engine)
    [message] = emu.messages_to(USERS[0])
    assert message.text == "Ticket #1: claimed by Li" and message.buttons() == []
    assert message.history == ["Ticket #1: burst pipe"]
    assert all(r.sent_at is not None for r in rows(engine))


async def test_edit_of_failed_row_fails_without_calling(
    emu: BotApiEmulator, engine: Engine, sender: OutboxSender
) -> None:
    def fill(session: Session, now: datetime) -> None:
        [card] = queue_message(session, chat_id=777_777, text="nobody", now=now)  # unknown chat
        queue_edit(session, chat_id=777_777, of_outbox_id=card.id, text="still nobody", now=now)

    queue(engine, sender, fill)
    await settle(emu, engine)
    card, edit = rows(engine)
    assert card.failed_at is not None and "chat not found" in (card.error or "").lower()
    assert edit.failed_at is not None and "never sent" in (edit.error or "")
    assert emu.calls_to("editMessageText") == []


async def test_not_modified_counts_as_sent(emu: BotApiEmulator, engine: Engine, sender: OutboxSender) -> None:
    queue(engine, sender, lambda s, now: queue_message(s, chat_id=USERS[0], text="same", now=now))
    await settle(emu, engine)
    message_id = rows(engine)[0].result_message_id
    assert message_id is not None
    queue(engine, sender, lambda s, now: queue_edit(s, chat_id=USERS[0], message_id=message_id, text="same",
                                                     now=now))
    await settle(emu, engine)
    edit = rows(engine)[1]
    assert edit.sent_at is not None and edit.failed_at is None
    assert emu.calls_to("editMessageText")[-1].status == 400


async def test_callback_answers_go_first(emu: BotApiEmulator, engine: Engine, sender: OutboxSender) -> None:
    uid = USERS[0]
    queue(engine, sender, lambda s, now: queue_message(
        s, chat_id=uid, text="pick", reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
        now=now))
    await settle(emu, engine)
    qid = emu.press(uid, emu.messages_to(uid)[0].message_id, "a")
    start = len(emu.calls)

    def fill(session: Session, now: datetime) -> None:
        queue_message(session, chat_id=uid, text="one", now=now)
        queue_message(session, chat_id=uid, text="two", now=now)
        queue_answer_callback(session, callback_query_id=qid, text="Got it", now=now)

    queue(engine, sender, fill)
    await settle(emu, engine)
    methods = [c.method for c in emu.calls[start:] if c.status == 200]
    assert methods == ["answerCallbackQuery", "sendMessage", "sendMessage"]
    assert emu.callbacks[qid].answered and emu.callbacks[qid].answer_text == "Got it"


async def test_photo_bytes_are_uploaded(emu: BotApiEmulator, engine: Engine, sender: OutboxSender) -> None:
    queue(engine, sender, lambda s, now: queue_photo(s, chat_id=USERS[0], photo=PNG, caption="look", now=now))
    await settle(emu, engine)
    [entry] = [e for e in emu.transcript_for(USERS[0]) if e.method == "sendPhoto"]
    assert entry.caption == "look" and entry.photo_size == len(PNG)


async def test_group_limit_defers_without_blocking_others(
    emu: BotApiEmulator, engine: Engine, sender: OutboxSender
) -> None:
    group = -100_200
    emu.add_group(group)

    def fill(session: Session, now: datetime) -> None:
        for n in range(21):
            queue_message(session, chat_id=group, text=f"g{n}", now=now)
        queue_message(session, chat_id=USERS[0], text="private after the group", now=now)

    queue(engine, sender, fill)
    await emu.wait_for(lambda: sum(r.sent_at is not None for r in rows(engine)) == 21, timeout=20)
    pending = [r for r in rows(engine) if r.sent_at is None]
    assert [r.payload["text"] for r in pending] == ["g20"], "the 21st group message waits for the minute"
    assert texts(emu, group) == [f"g{n}" for n in range(20)]
    assert texts(emu, USERS[0]) == ["private after the group"]


def test_requests_in_flight_count_until_they_finish_and_then_for_a_window() -> None:
    limiter = WindowLimiter(2, 1.0)
    limiter.begin(0.0)
    limiter.begin(0.1)
    assert limiter.wait(5.0) > 0, "two requests still in flight fill the window however long they take"
    limiter.finish(0.0, 5.0)
    assert limiter.wait(5.5) > 0, "one finished within the window plus one in flight"
    assert limiter.wait(6.01) == 0.0
    limiter.begin(6.01)
    limiter.finish(0.1, 6.1)
    limiter.finish(6.01, 6.2)
    assert limiter.wait(6.5) > 0, "finished requests count from their end"
    assert limiter.wait(7.21) == 0.0


class SlowReader(OutboxSender):
    """A sender whose second read of the outbox is slow: it returns a snapshot taken before the first
    send was recorded, only after that send has finished (as a reader without the write lock can)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.loads = 0

    def _load(self) -> list:  # type: ignore[type-arg]
        self.loads += 1
        snapshot = super()._load()
        if self.loads == 2 and snapshot:
            deadline = time.monotonic() + 10
            while snapshot[0].id in self._in_flight and time.monotonic() < deadline:
                time.sleep(0.01)
        return snapshot


async def test_a_stale_read_never_sends_a_row_again(emu: BotApiEmulator, engine: Engine, bot: ExtBot) -> None:
    emu.set_delay(0.3, methods=["sendMessage"])  # the first send is still in flight during the second read
    slow = SlowReader(engine, bot, poll_interval=0.05, private_per_second=100.0)  # no limiter to hide behind
    queue(engine, None, lambda s, now: queue_message(s, chat_id=USERS[0], text="once", now=now))
    task = asyncio.create_task(slow.run())
    try:
        await settle(emu, engine)
        await asyncio.sleep(0.5)  # time for a wrong second send to arrive
    finally:
        slow.stop()
        await task
    assert slow.loads >= 2
    assert texts(emu, USERS[0]) == ["once"] and len(emu.calls_to("sendMessage")) == 1


async def test_a_message_given_up_on_is_logged_with_its_reason(
        emu: BotApiEmulator, engine: Engine, sender: OutboxSender, caplog: pytest.LogCaptureFixture) -> None:
    blocked = USERS[0]
    emu.block_user(blocked)
    queue(engine, sender, lambda session, now: queue_message(session, chat_id=blocked, text="hi", now=now))
    with caplog.at_level("WARNING", logger="bot.sender"):
        await settle(emu, engine)
    row = rows(engine)[0]
    assert row.failed_at is not None
    gave_up = [r.getMessage() for r in caplog.records if "gave up" in r.getMessage()]
    assert gave_up == [f"gave up on outbox message {row.id} (sendMessage to chat ***{str(blocked)[-3:]}): "
                       f"{row.error}"], caplog.text
    assert str(blocked) not in gave_up[0] and "blocked" in gave_up[0]
