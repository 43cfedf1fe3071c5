"""What the bot waits for in a chat (a place, a note, a reason): one row per chat in ``chat_state``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session

from cases.models import ChatState

_TABLE = ChatState.__table__  # type: ignore[attr-defined]
_HAS_STATE = select(_TABLE.c.chat_id).where(_TABLE.c.chat_id == bindparam("chat_id"))


def get_state(session: Session, chat_id: int) -> ChatState | None:
    """The chat's pending question, if any.

    Most messages come from chats with no question pending: a one-column Core read answers those without the
    ORM's load machinery; a row found is loaded as an ORM object (it may be changed). Pending changes are
    flushed first, as the ORM's own read would (autoflush), so a state set or cleared earlier in this
    transaction is seen."""
    if session.autoflush:
        session.flush()
    if identity_key(ChatState, chat_id) not in session.identity_map and \
            session.connection().execute(_HAS_STATE, {"chat_id": chat_id}).first() is None:
        return None
    return session.get(ChatState, chat_id)


def set_state(session: Session, chat_id: int, awaiting: str, *, now: datetime, ticket_id: int | None = None,
              data: dict[str, Any] | None = None) -> None:
    """Remember that the bot waits for ``awaiting`` in ``chat_id``."""
    state = session.get(ChatState, chat_id)
    if state is None:
        state = ChatState(chat_id=chat_id, awaiting=awaiting, updated_at=now)
    state.awaiting = awaiting
    state.ticket_id = ticket_id
    state.data = dict(data or {})
    state.updated_at = now
    session.add(state)


def clear_state(session: Session, chat_id: int) -> None:
    """Forget any pending question."""
    state = session.get(ChatState, chat_id)
    if state is not None:
        session.delete(state)
