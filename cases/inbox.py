"""The durable inbox: Telegram updates stored before they are acknowledged, processed in order, replayed
after a crash. Storage only; no network. Idempotent on ``update_id``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from cases.db import insert_ignoring
from cases.models import InboxUpdate
from cases.safe_text import without_nul

__all__ = ["chat_id_of", "mark_processed", "pending", "pending_count", "record_failure", "store", "take"]

_CHAT_CARRIERS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "business_message",
    "edited_business_message",
)


_TABLE = InboxUpdate.__table__  # type: ignore[attr-defined]


def chat_id_of(payload: dict[str, Any]) -> int | None:
    """The chat an update belongs to (None for updates without one, such as inline queries)."""
    for key in _CHAT_CARRIERS:
        chat = (payload.get(key) or {}).get("chat") or {}
        if isinstance(chat.get("id"), int):
            return int(chat["id"])
    callback = payload.get("callback_query") or {}
    chat = (callback.get("message") or {}).get("chat") or {}
    if isinstance(chat.get("id"), int):
        return int(chat["id"])
    sender = callback.get("from") or {}
    return int(sender["id"]) if isinstance(sender.get("id"), int) else None


_STORE = insert_ignoring(_TABLE, conflict=["update_id"], returning=_TABLE.c.update_id)


def store(session: Session, payloads: list[dict[str, Any]], *, now: datetime) -> int:
    """Insert updates not seen before (insert-or-ignore on ``update_id``); returns how many were new.

    NUL characters are dropped from the stored payload (PostgreSQL refuses them; see ``cases.safe_text``)."""
    rows: dict[int, dict[str, Any]] = {}
    for payload in payloads:
        update_id = payload.get("update_id")
        if not isinstance(update_id, int):
            raise ValueError(f"a Telegram update needs an integer update_id, got {update_id!r}")
        rows.setdefault(
            update_id,
            {
                "update_id": update_id,
                "chat_id": chat_id_of(payload),
                "payload": without_nul(payload),
                "received_at": now,
                "attempts": 0,
            },
        )
    if not rows:
        return 0
    # One prepared statement, executed for many rows (SQLAlchemy batches them as "insertmanyvalues"): a
    # multi-row VALUES clause would be a new statement to compile for every batch size.
    statement = _STORE[session.get_bind().dialect.name]
    return len(session.connection().execute(statement, list(rows.values())).all())


_PENDING = (
    sa_select(_TABLE).where(_TABLE.c.processed_at.is_(None)).order_by(_TABLE.c.update_id).limit(bindparam("limit"))
)


def pending(session: Session, *, limit: int = 100) -> Sequence[Row[Any]]:
    """Unprocessed updates in ``update_id`` order (which is Telegram's order): rows with the table's columns,
    read by one prepared Core statement (the processor reads after every commit)."""
    return session.connection().execute(_PENDING, {"limit": limit}).all()


def pending_count(session: Session) -> int:
    """How many stored updates are not processed yet."""
    return session.exec(
        select(func.count()).select_from(InboxUpdate).where(col(InboxUpdate.processed_at).is_(None))
    ).one()


def mark_processed(session: Session, update_id: int, /, *, now: datetime, error: str | None = None) -> None:
    """Done with an update (``error`` says it was given up on after failing)."""
    session.execute(
        update(InboxUpdate).where(col(InboxUpdate.update_id) == update_id).values(processed_at=now, error=error)
    )


_TAKE = (
    update(_TABLE)
    .where(_TABLE.c.update_id == bindparam("uid"), _TABLE.c.processed_at.is_(None))
    .values(processed_at=bindparam("now"), error=None)
)


def take(session: Session, update_id: int, /, *, now: datetime) -> bool:
    """Mark a pending update processed at the start of the transaction that handles it; False if it is not
    pending (already processed, or unknown).

    The conditional UPDATE also locks the row until commit, so of several processes only one handles it;
    if handling fails the transaction rolls back and the update is pending again.
    """
    result = session.connection().execute(_TAKE, {"uid": update_id, "now": now})
    return bool(result.rowcount)


def record_failure(session: Session, update_id: int, /, *, error: str, now: datetime) -> None:
    """Handling an update failed; count the attempt and keep the error. It stays pending."""
    session.execute(
        update(InboxUpdate)
        .where(col(InboxUpdate.update_id) == update_id)
        .values(attempts=col(InboxUpdate.attempts) + 1, error=error)
    )
