"""Queue Bot API calls as outbox rows in the caller's transaction (the sender delivers them later).

Payloads are plain Bot API JSON. Keys starting with ``_`` are instructions for the sender and are
never sent: ``_ref_outbox_id`` (edit the message another outbox row produced) and ``_photo_b64``
(PNG bytes to upload).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlmodel import Session

from cases import outbox
from cases.models import OutboxMessage

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
REF_KEY = "_ref_outbox_id"
PHOTO_KEY = "_photo_b64"
CALLBACK_CHAT_ID = 0
"""``chat_id`` of answerCallbackQuery rows: they belong to no chat and are sent first."""


PURPOSE_PRIORITY: dict[str, int] = {
    "advice": outbox.EMERGENCY,
    "callback": outbox.EMERGENCY,
    "dispatch": outbox.ACTION,
    "escalation": outbox.ACTION,
    "digest": outbox.BULK,
    "bulk": outbox.BULK,
}
"""The outbox priority of a message by its purpose when the caller names none (emergency cards name theirs)."""


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The largest ``n`` such that ``text[:n]`` is at most ``limit`` UTF-16 units long."""
    if utf16_len(text) <= limit:
        return len(text)
    n = min(len(text), limit)
    while utf16_len(text[:n]) > limit:
        n -= max(1, (utf16_len(text[:n]) - limit) // 2)
    return n


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut ``text`` into parts of at most ``limit`` units, at a line break, else a space, else anywhere."""
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        n = _fit(rest, limit)
        cut = rest.rfind("\n", 0, n + 1)
        if cut <= 0:
            cut = max(rest.rfind(" ", 0, n + 1), rest.rfind("\t", 0, n + 1))
        if cut <= 0:
            parts.append(rest[:n])
            rest = rest[n:]
            continue
        parts.append(rest[:cut].rstrip())
        rest = rest[cut + 1 :]
    if rest or not parts:
        parts.append(rest)
    return [p for p in parts if p] or [""]


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` units with an ellipsis when too long (edits and captions can't split)."""
    if utf16_len(text) <= limit:
        return text
    return text[: _fit(text, limit - 1)] + "…"


def _part_key(dedupe_key: str | None, index: int) -> str | None:
    if dedupe_key is None or index == 0:
        return dedupe_key
    return f"{dedupe_key}#{index + 1}"


def queue_call(
    session: Session,
    *,
    chat_id: int,
    method: str,
    payload: dict[str, Any],
    purpose: str = "",
    ticket_id: int | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
    priority: int | None = None,
    now: datetime,
) -> OutboxMessage | None:
    """Queue any Bot API call (``payload`` is its JSON parameters); None if ``dedupe_key`` was used before.

    ``priority`` defaults to the one of ``purpose`` (:data:`PURPOSE_PRIORITY`, else routine).
    """
    return outbox.enqueue(
        session, chat_id=chat_id, method=method, payload=payload, purpose=purpose, ticket_id=ticket_id,
        dedupe_key=dedupe_key, not_before=not_before, now=now,
        priority=PURPOSE_PRIORITY.get(purpose, outbox.ROUTINE) if priority is None else priority,
    )


def queue_message(
    session: Session,
    *,
    chat_id: int,
    text: str,
    reply_markup: dict[str, Any] | None = None,
    purpose: str = "",
    ticket_id: int | None = None,
    dedupe_key: str | None = None,
    parse_mode: str | None = None,
    priority: int | None = None,
    now: datetime,
) -> list[OutboxMessage]:
    """Queue ``sendMessage``; text over 4096 characters becomes several rows, the keyboard on the last.

    Returns the rows queued (none if ``dedupe_key`` was used before).
    """
    parts = split_text(text)
    rows: list[OutboxMessage] = []
    for index, part in enumerate(parts):
        payload: dict[str, Any] = {"chat_id": chat_id, "text": part}
        if parse_mode:
            payload["parse_mode"] = parse_mode
        if reply_markup is not None and index == len(parts) - 1:
            payload["reply_markup"] = reply_markup
        row = queue_call(
            session, chat_id=chat_id, method="sendMessage", payload=payload, purpose=purpose,
            ticket_id=ticket_id, dedupe_key=_part_key(dedupe_key, index), priority=priority, now=now,
        )
        if row is not None:
            rows.append(row)
    return rows


def queue_edit(
    session: Session,
    *,
    chat_id: int,
    message_id: int | None = None,
    of_outbox_id: int | None = None,
    text: str | None = None,
    caption: str | None = None,
    reply_markup: dict[str, Any] | None = None,
    parse_mode: str | None = None,
    purpose: str = "edit",
    ticket_id: int | None = None,
    dedupe_key: str | None = None,
    priority: int | None = None,
    now: datetime,
) -> OutboxMessage | None:
    """Queue an edit of a sent message: its text, else its caption, else only its keyboard.

    Give ``message_id``, or ``of_outbox_id`` for a message still in the outbox: the edit waits until
    that row is sent (and fails if it failed). Such an edit is never more urgent than the row it edits,
    so in its chat's (priority, id) order the message always goes before its edit.
    """
    rank = PURPOSE_PRIORITY.get(purpose, outbox.ROUTINE) if priority is None else priority
    if of_outbox_id is not None:
        edited = session.get(OutboxMessage, of_outbox_id)
        if edited is not None:
            rank = max(rank, edited.priority)
    if (message_id is None) == (of_outbox_id is None):
        raise ValueError("give exactly one of message_id and of_outbox_id")
    payload: dict[str, Any] = {"chat_id": chat_id}
    if message_id is not None:
        payload["message_id"] = message_id
    else:
        payload[REF_KEY] = of_outbox_id
    if text is not None:
        method = "editMessageText"
        payload["text"] = shorten(text, TEXT_LIMIT)
    elif caption is not None:
        method = "editMessageCaption"
        payload["caption"] = shorten(caption, CAPTION_LIMIT)
    elif reply_markup is not None:
        method = "editMessageReplyMarkup"
    else:
        raise ValueError("an edit needs text, caption or reply_markup")
    if parse_mode and method != "editMessageReplyMarkup":
        payload["parse_mode"] = parse_mode
    if reply_markup is not None:
        payload["reply_markup"] = reply_markup
    return queue_call(
        session, chat_id=chat_id, method=method, payload=payload, purpose=purpose, ticket_id=ticket_id,
        dedupe_key=dedupe_key, priority=rank, now=now,
    )


def queue_venue(
    session: Session,
    *,
    chat_id: int,
    lat: float,
    lon: float,
    title: str,
    address: str,
    purpose: str = "",
    ticket_id: int | None = None,
    dedupe_key: str | None = None,
    priority: int | None = None,
    now: datetime,
) -> OutboxMessage | None:
    """Queue ``sendVenue``: a map pin with a title and an address (both must be non-empty)."""
    payload = {"chat_id": chat_id, "latitude": lat, "longitude": lon, "title": title, "address": address}
    return queue_call(session, chat_id=chat_id, method="sendVenue", payload=payload, purpose=purpose,
                      ticket_id=ticket_id, dedupe_key=dedupe_key, priority=priority, now=now)


def queue_photo(
    session: Session,
    *,
    chat_id: int,
    photo: str | bytes,
    caption: str | None = None,
    reply_markup: dict[str, Any] | None = None,
    purpose: str = "",
    ticket_id: int | None = None,
    dedupe_key: str | None = None,
    parse_mode: str | None = None,
    priority: int | None = None,
    now: datetime,
) -> list[OutboxMessage]:
    """Queue ``sendPhoto`` (a Telegram file_id, or PNG bytes uploaded by the sender).

    A caption over 1024 characters follows the photo as text messages (the keyboard on the last).
    """
    payload: dict[str, Any] = {"chat_id": chat_id}
    if isinstance(photo, bytes):
        payload[PHOTO_KEY] = base64.b64encode(photo).decode("ascii")
    else:
        payload["photo"] = photo
    long_caption = caption is not None and utf16_len(caption) > CAPTION_LIMIT
    if caption and not long_caption:
        payload["caption"] = caption
        if parse_mode:
            payload["parse_mode"] = parse_mode
    if reply_markup is not None and not long_caption:
        payload["reply_markup"] = reply_markup
    first = queue_call(
        session, chat_id=chat_id, method="sendPhoto", payload=payload, purpose=purpose, ticket_id=ticket_id,
        dedupe_key=dedupe_key, priority=priority, now=now,
    )
    if first is None:
        return []
    rows = [first]
    if long_caption and caption is not None:
        rows += queue_message(
            session, chat_id=chat_id, text=caption, reply_markup=reply_markup, purpose=purpose,
            ticket_id=ticket_id, dedupe_key=f"{dedupe_key}#caption" if dedupe_key else None,
            parse_mode=parse_mode, priority=priority, now=now,
        )
    return rows


def queue_answer_callback(
    session: Session,
    *,
    callback_query_id: str,
    text: str | None = None,
    show_alert: bool = False,
    now: datetime,
) -> OutboxMessage | None:
    """Queue ``answerCallbackQuery`` (stops the button's spinner; the sender sends these first)."""
    payload: dict[str, Any] = {"callback_query_id": callback_query_id}
    if text:
        payload["text"] = shorten(text, 200)
    if show_alert:
        payload["show_alert"] = True
    return queue_call(
        session, chat_id=CALLBACK_CHAT_ID, method="answerCallbackQuery", payload=payload,
        purpose="callback", now=now,
    )
