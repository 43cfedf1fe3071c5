"""Outbox and inbox storage on both databases: dedupe, due order, retries, insert-or-ignore."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from cases import inbox, outbox
from cases.clock import as_utc
from cases.db import session_scope
from cases.models import InboxUpdate, OutboxMessage


def test_enqueue_and_due_order(session: Session, now: datetime) -> None:
    first = outbox.enqueue(session, chat_id=1, method="sendMessage", payload={"text": "a"}, now=now)
    later = outbox.enqueue(session, chat_id=2, method="sendMessage", payload={"text": "b"},
                           not_before=now + timedelta(minutes=5), now=now)
    third = outbox.enqueue(session, chat_id=1, method="editMessageText", payload={"text": "c"}, ticket_id=None,
                           purpose="claimed", now=now)
    assert first and later and third
    assert [m.id for m in outbox.due(session, now=now, limit=10)] == [first.id, third.id]
    assert [m.id for m in outbox.due(session, now=now + timedelta(minutes=5), limit=10)] == [
        first.id, later.id, third.id]
    assert [m.id for m in outbox.due(session, now=now, limit=1)] == [first.id]
    assert outbox.pending_count(session) == 3
    assert first.payload == {"text": "a"} and third.purpose == "claimed"


def test_dedupe_key(session: Session, now: datetime) -> None:
    row = outbox.enqueue(session, chat_id=1, method="sendMessage", payload={}, dedupe_key="t1:claimed", now=now)
    assert row is not None
    assert outbox.enqueue(session, chat_id=1, method="sendMessage", payload={}, dedupe_key="t1:claimed",
                          now=now) is None
    session.commit()
    assert outbox.enqueue(session, chat_id=1, method="sendMessage", payload={}, dedupe_key="t1:claimed",
                          now=now) is None
    assert outbox.pending_count(session) == 1


def test_sent_retry_and_failed(session: Session, now: datetime) -> None:
    a, b, c = (outbox.enqueue(session, chat_id=n, method="sendMessage", payload={}, now=now) for n in (1, 2, 3))
    assert a and b and c and a.id and b.id and c.id
    outbox.mark_sent(session, a.id, message_id=555, now=now)
    outbox.mark_retry(session, b.id, not_before=now + timedelta(seconds=30), error="429 retry_after=30", now=now)
    outbox.mark_failed(session, c.id, error="403 bot was blocked by the user", now=now)
    session.commit()
    rows = {m.id: m for m in session.exec(select(OutboxMessage)).all()}
    assert rows[a.id].sent_at is not None and rows[a.id].result_message_id == 555 and rows[a.id].attempts == 1
    assert rows[b.id].sent_at is None and rows[b.id].error == "429 retry_after=30" and rows[b.id].attempts == 1
    assert as_utc(rows[b.id].not_before) == now + timedelta(seconds=30)
    assert rows[c.id].failed_at is not None
    assert outbox.due(session, now=now, limit=10) == []
    assert [m.id for m in outbox.due(session, now=now + timedelta(seconds=30), limit=10)] == [b.id]
    assert outbox.pending_count(session) == 1


def _update(update_id: int, chat: int = 7, kind: str = "message") -> dict:
    body = {"message_id": update_id, "chat": {"id": chat, "type": "private"}, "text": f"hi {update_id}"}
    return {"update_id": update_id, kind: body}


def test_store_is_idempotent_on_update_id(session: Session, now: datetime) -> None:
    assert inbox.store(session, [_update(3), _update(1), _update(2), _update(1)], now=now) == 3
    assert inbox.store(session, [_update(2), _update(4)], now=now) == 1
    session.commit()
    assert inbox.store(session, [_update(4)], now=now) == 0
    assert inbox.store(session, [], now=now) == 0
    assert [u.update_id for u in inbox.pending(session, limit=10)] == [1, 2, 3, 4]
    assert inbox.pending(session, limit=10)[0].payload["message"]["text"] == "hi 1"
    assert inbox.pending_count(session) == 4


def test_chat_id_extraction(session: Session, now: datetime) -> None:
    callback = {"update_id": 10, "callback_query": {"id": "q", "from": {"id": 99},
                                                    "message": {"message_id": 1, "chat": {"id": -100}}}}
    member = {"update_id": 11, "my_chat_member": {"chat": {"id": -200}, "from": {"id": 5}}}
    edited = _update(12, chat=42, kind="edited_message")
    orphan = {"update_id": 13, "callback_query": {"id": "q2", "from": {"id": 77}}}
    inline = {"update_id": 14, "inline_query": {"id": "i", "from": {"id": 1}, "query": "x"}}
    inbox.store(session, [callback, member, edited, orphan, inline], now=now)
    chats = {u.update_id: u.chat_id for u in session.exec(select(InboxUpdate)).all()}
    assert chats == {10: -100, 11: -200, 12: 42, 13: 77, 14: None}


def test_processing_marks(session: Session, now: datetime) -> None:
    inbox.store(session, [_update(1), _update(2)], now=now)
    inbox.record_failure(session, 1, error="boom", now=now)
    inbox.record_failure(session, 1, error="boom again", now=now)
    inbox.mark_processed(session, 2, now=now)
    session.commit()
    [left] = inbox.pending(session, limit=10)
    assert (left.update_id, left.attempts, left.error) == (1, 2, "boom again")
    inbox.mark_processed(session, 1, now=now, error="gave up")
    session.commit()
    assert inbox.pending(session, limit=10) == []
    assert session.get(InboxUpdate, 1).error == "gave up"  # type: ignore[union-attr]


def test_take_marks_a_pending_update_once_and_a_rollback_returns_it(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as s:
        inbox.store(s, [_update(1), _update(2)], now=now)
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        assert inbox.take(s, 1, now=now)
        raise RuntimeError("the handler failed")
    with session_scope(engine) as s:
        assert [u.update_id for u in inbox.pending(s, limit=10)] == [1, 2], "a failed handling leaves it pending"
        assert inbox.take(s, 1, now=now)
        assert not inbox.take(s, 1, now=now), "the same update is taken once"
        assert not inbox.take(s, 99, now=now), "an unknown update is not taken"
    with session_scope(engine) as s:
        assert [u.update_id for u in inbox.pending(s, limit=10)] == [2]
