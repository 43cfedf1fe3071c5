"""What the bot waits for in a chat (a place, a note, a reason): one row per chat in ``chat_state``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from cases.models import ChatState


def get_state(session: Session, chat_id: int) -> ChatState | None:
    """The chat's pending question, if any."""
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
