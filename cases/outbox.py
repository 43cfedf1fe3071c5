"""The durable outbox: Bot API calls to make, written in the same transaction as the change that caused
them and kept until Telegram accepted them (or they can never be sent). Storage only; no network."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy.orm import configure_mappers
from sqlmodel import Session, col, select

from cases.db import insert_ignoring
from cases.models import OutboxMessage

__all__ = ["ACTION", "BULK", "EMERGENCY", "ROUTINE", "due", "enqueue", "mark_failed", "mark_retry", "mark_sent",
           "mark_sent_many", "pending_count"]


EMERGENCY = 0
"""Emergency cards and safety advice: served before anything else the rate limits allow."""
ACTION = 1
"""Claims, claim reminders, warnings and escalations: someone must act."""
ROUTINE = 2
"""Routine replies and notices."""
BULK = 3
"""Digests and bulk messages: whatever is left of the rate limits."""

_TABLE = OutboxMessage.__table__  # type: ignore[attr-defined]
_MAPPER = OutboxMessage.__mapper__  # type: ignore[attr-defined]
_INSERTS = insert_ignoring(_TABLE, conflict=["dedupe_key"], returning=_TABLE.c.id)


def enqueue(
    session: Session,
    *,
    chat_id: int,
    method: str,
    payload: dict[str, Any],
    purpose: str = "",
    ticket_id: int | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
    priority: int = ROUTINE,
    now: datetime,
) -> OutboxMessage | None:
    """Queue one Bot API call; None when a row with the same ``dedupe_key`` already exists.

    ``priority`` (:data:`EMERGENCY` .. :data:`BULK`, lower first): the sender always serves the most urgent
    row the rate limits allow, whatever waits behind it.

    One prepared ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id``: safe against a concurrent
    transaction queuing the same key, and cheap (the intake path queues two or more rows per report).
    The returned row is a detached copy of what was inserted.
    """
    values: dict[str, Any] = {
        "chat_id": chat_id, "method": method, "payload": payload, "purpose": purpose, "ticket_id": ticket_id,
        "dedupe_key": dedupe_key, "priority": priority, "created_at": now, "not_before": not_before or now,
        "attempts": 0,
    }
    connection = session.connection()  # a Core statement: no ORM execution layer (and no autoflush either way)
    new_id = connection.execute(_INSERTS[connection.dialect.name], values).scalar()
    if new_id is None:
        return None
    if not _MAPPER.configured:
        configure_mappers()  # a constructed row's attributes work only on configured mappers
    return OutboxMessage.model_construct(id=new_id, **values)


def _pending() -> Any:
    return (col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None))


def due(session: Session, *, now: datetime, limit: int = 100) -> list[OutboxMessage]:
    """Unsent, unfailed rows whose ``not_before`` has come, most urgent first, then oldest first."""
    query = (
        select(OutboxMessage)
        .where(*_pending(), col(OutboxMessage.not_before) <= now)
        .order_by(col(OutboxMessage.priority), col(OutboxMessage.id))
        .limit(limit)
    )
    return list(session.exec(query).all())


def pending_count(session: Session) -> int:
    """How many rows still wait to be sent (due or not)."""
    return session.exec(select(func.count()).select_from(OutboxMessage).where(*_pending())).one()


def _update(session: Session, row_id: int, **values: Any) -> None:
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row_id)
        .values(attempts=col(OutboxMessage.attempts) + 1, **values)
    )


_MARK_SENT = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(attempts=_TABLE.c.attempts + 1, sent_at=bindparam("sent_at"),
            result_message_id=bindparam("message_id"), error=None)
)


def mark_sent_many(session: Session, sent: list[tuple[int, int | None]], /, *, now: datetime) -> None:
    """Several rows were accepted: ``[(row_id, message_id), ...]`` in one executemany."""
    if sent:
        session.connection().execute(
            _MARK_SENT, [{"row_id": row_id, "message_id": message_id, "sent_at": now} for row_id, message_id in sent]
        )


def mark_sent(session: Session, row_id: int, /, *, message_id: int | None, now: datetime) -> None:
    """Telegram accepted the call; ``message_id`` is the sent message's id (None for other methods)."""
    mark_sent_many(session, [(row_id, message_id)], now=now)


def mark_retry(session: Session, row_id: int, /, *, not_before: datetime, error: str, now: datetime) -> None:
    """The call failed for now (429, 5xx, network); try again at ``not_before``."""
    _update(session, row_id, not_before=not_before, error=error)


def mark_failed(session: Session, row_id: int, /, *, error: str, now: datetime) -> None:
    """The call can never succeed (blocked by the user, chat gone, bad request); stop trying."""
    _update(session, row_id, failed_at=now, error=error)
