"""Telegram updates as the Bot API sends them, for handler-level tests (messages, edits, stickers, presses)."""

from __future__ import annotations

import itertools
from typing import Any

from telegram import Update

_IDS = itertools.count(1)
_MESSAGES = itertools.count(1)


def _user(user_id: int, lang: str) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"u{user_id}", "language_code": lang}


def _chat(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "type": "private", "first_name": f"u{user_id}"}


def message(user_id: int, text: str | None = None, *, lang: str = "zh-hans", message_id: int | None = None,
            **extra: Any) -> Update:
    """A private message (``text`` None: only ``extra``, e.g. ``sticker=...``)."""
    body: dict[str, Any] = {"message_id": message_id or next(_MESSAGES), "date": 1_700_000_000,
                            "chat": _chat(user_id), "from": _user(user_id, lang), **extra}
    if text is not None:
        body["text"] = text
    return Update.de_json({"update_id": next(_IDS), "message": body}, None)


def sticker(user_id: int, *, lang: str = "zh-hans") -> Update:
    """A sticker (no text, no caption)."""
    return message(user_id, None, lang=lang, sticker={
        "file_id": "CAACAgIAAxk", "file_unique_id": "AgAD", "type": "regular", "width": 512, "height": 512,
        "is_animated": False, "is_video": False})


def edited(user_id: int, message_id: int, text: str, *, lang: str = "zh-hans") -> Update:
    """The resident edited their message ``message_id``."""
    body = {"message_id": message_id, "date": 1_700_000_000, "edit_date": 1_700_000_100, "text": text,
            "chat": _chat(user_id), "from": _user(user_id, lang)}
    return Update.de_json({"update_id": next(_IDS), "edited_message": body}, None)


def press(user_id: int, data: str, *, lang: str = "zh-hans", message_id: int = 1) -> Update:
    """A button press on the bot's message ``message_id`` in the user's private chat."""
    query_id = f"q{next(_IDS)}"
    body = {"id": query_id, "from": _user(user_id, lang), "chat_instance": "ci", "data": data,
            "message": {"message_id": message_id, "date": 1_700_000_000, "chat": _chat(user_id),
                        "from": {"id": 1, "is_bot": True, "first_name": "bot"}, "text": "card"}}
    return Update.de_json({"update_id": next(_IDS), "callback_query": body}, None)
