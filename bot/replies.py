"""Small helpers handlers use to say things: everything goes into the outbox, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from bot.keyboards import Markup
from bot.sending import queue_answer_callback, queue_edit, queue_message
from bot.texts import t
from cases.models import OutboxMessage, Person, Ticket
from cases.services.api_keys import API_PERSON_BASE


def say(session: Session, chat_id: int, lang: str, key: str, *, now: datetime, markup: Markup | None = None,
        purpose: str = "reply", ticket_id: int | None = None, dedupe_key: str | None = None,
        urgency: int | None = None, **values: Any) -> list[OutboxMessage]:
    """Queue the catalogue text ``key`` to ``chat_id`` (``urgency``: the outbox priority, see
    :func:`bot.sending.queue_call`; not ``priority``, which templates use as a field)."""
    return queue_message(session, chat_id=chat_id, text=t(key, lang, **values), reply_markup=markup,
                         purpose=purpose, ticket_id=ticket_id, dedupe_key=dedupe_key, priority=urgency, now=now)


def say_raw(session: Session, chat_id: int, text: str, *, now: datetime, markup: Markup | None = None,
            purpose: str = "reply", ticket_id: int | None = None,
            dedupe_key: str | None = None) -> list[OutboxMessage]:
    """Queue an already rendered text."""
    return queue_message(session, chat_id=chat_id, text=text, reply_markup=markup, purpose=purpose,
                         ticket_id=ticket_id, dedupe_key=dedupe_key, now=now)


def tell(session: Session, person: Person, key: str, *, now: datetime, markup: Markup | None = None,
         purpose: str = "notice", ticket_id: int | None = None, dedupe_key: str | None = None,
         urgency: int | None = None, **values: Any) -> list[OutboxMessage]:
    """Queue ``key`` to a person's private chat, in their language. People without a chat (an Open311 key's
    reporter, see :mod:`cases.services.api_keys`) are never messaged."""
    if person.telegram_id <= API_PERSON_BASE:
        return []
    return say(session, person.telegram_id, person.language, key, now=now, markup=markup, purpose=purpose,
               ticket_id=ticket_id, dedupe_key=dedupe_key, urgency=urgency, **values)


def answer(session: Session, callback_query_id: str, text: str | None = None, *, now: datetime,
           alert: bool = False) -> None:
    """Answer a button press (stops the client's spinner)."""
    queue_answer_callback(session, callback_query_id=callback_query_id, text=text, show_alert=alert, now=now)


def edit(session: Session, chat_id: int, message_id: int, text: str, *, now: datetime,
         markup: Markup | None = None) -> None:
    """Queue an edit of a message the bot sent."""
    queue_edit(session, chat_id=chat_id, message_id=message_id, text=text, reply_markup=markup, now=now)


def remove_buttons(session: Session, chat_id: int, message_id: int, *, now: datetime) -> None:
    """Queue removing the inline keyboard of a message (stale or forged buttons)."""
    queue_edit(session, chat_id=chat_id, message_id=message_id, reply_markup={"inline_keyboard": []}, now=now)


def close_press(session: Session, query_id: str, chat_id: int, message_id: int, *, now: datetime) -> None:
    """A press was handled: stop the spinner and remove the keyboard so it cannot be pressed twice."""
    answer(session, query_id, now=now)
    remove_buttons(session, chat_id, message_id, now=now)


def refuse_press(session: Session, query_id: str, chat_id: int, message_id: int, key: str, lang: str, *,
                 now: datetime, alert: bool = False) -> None:
    """A stale, forged or forbidden press: say why (catalogue ``key``) and remove the keyboard."""
    answer(session, query_id, t(key, lang), now=now, alert=alert)
    remove_buttons(session, chat_id, message_id, now=now)


def dispatch_rows(session: Session, ticket: Ticket) -> list[OutboxMessage]:
    """The messages that announced ``ticket`` to workers (to edit them once it is claimed)."""
    statement = select(OutboxMessage).where(
        OutboxMessage.ticket_id == ticket.id, OutboxMessage.purpose == "dispatch"
    ).order_by(OutboxMessage.id)  # type: ignore[arg-type]
    return list(session.exec(statement))
