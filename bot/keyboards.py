"""Inline and reply keyboards, as Bot API dicts ready for the outbox."""

from __future__ import annotations

from typing import Any

from telegram import KeyboardButton, ReplyKeyboardMarkup

from bot.callbacks import CallbackCodec
from bot.texts import t
from cases.rules.schema import Rules

Markup = dict[str, Any]

# Callback actions (kept short: callback data is limited to 64 bytes).
CLAIM, DETAILS, NOTE_PUBLIC, NOTE_INTERNAL, RESOLVE, RELEASE, TRANSFER = "c", "d", "np", "ni", "r", "rl", "tr"
TRANSFER_TO, REASSIGN, REASSIGN_TO, CANCEL, FIXED, NOT_FIXED, RATE = "tt", "ra", "rw", "cx", "ok", "no", "rt"
CATEGORY, LOCATE_COMMUNITY, LOCATE_GRID, USE_HOME, HOME_COMMUNITY, HOME_GRID = "ct", "lc", "lg", "uh", "hc", "hg"
LANG, DISPATCH = "lg2", "ds"


def inline(rows: list[list[tuple[str, str]]]) -> Markup:
    """An inline keyboard from rows of (label, callback data): the Bot API dict PTB's
    ``InlineKeyboardMarkup(...).to_dict()`` gives, built directly (every new ticket's card carries one; PTB's
    objects cost about 0.1 ms per keyboard). ``tests/test_keyboards_inline.py`` holds the two equal."""
    if not rows:
        return {}  # PTB leaves an empty keyboard out
    return {"inline_keyboard": [[{"callback_data": data, "text": label} for label, data in row] for row in rows]}


def dispatch_keyboard(codec: CallbackCodec, ticket_id: int, lang: str) -> Markup:
    """Claim / Details under a new ticket sent to workers."""
    return inline([[(t("btn_claim", lang), codec.encode(CLAIM, ticket_id)),
                    (t("btn_details", lang), codec.encode(DETAILS, ticket_id))]])


def details_keyboard(codec: CallbackCodec, ticket_id: int, lang: str) -> Markup:
    """Only a Details button (for claimed notices and escalations)."""
    return inline([[(t("btn_details", lang), codec.encode(DETAILS, ticket_id))]])


def holder_keyboard(codec: CallbackCodec, ticket_id: int, lang: str) -> Markup:
    """What the worker holding a ticket can do."""
    return inline([
        [(t("btn_note_public", lang), codec.encode(NOTE_PUBLIC, ticket_id)),
         (t("btn_note_internal", lang), codec.encode(NOTE_INTERNAL, ticket_id))],
        [(t("btn_resolve", lang), codec.encode(RESOLVE, ticket_id))],
        [(t("btn_release", lang), codec.encode(RELEASE, ticket_id)),
         (t("btn_transfer", lang), codec.encode(TRANSFER, ticket_id))],
    ])


def escalation_keyboard(codec: CallbackCodec, ticket_id: int, lang: str) -> Markup:
    """Open or reassign an overdue ticket."""
    return inline([[(t("btn_details", lang), codec.encode(DETAILS, ticket_id)),
                    (t("btn_reassign", lang), codec.encode(REASSIGN, ticket_id))]])


def supervisor_keyboard(codec: CallbackCodec, ticket_id: int, lang: str) -> Markup:
    """Leader/supervisor actions on a ticket card."""
    return inline([[(t("btn_reassign", lang), codec.encode(REASSIGN, ticket_id)),
                    (t("btn_cancel_ticket", lang), codec.encode(CANCEL, ticket_id))]])


def held_keyboard(codec: CallbackCodec, ticket_id: int, lang: str) -> Markup:
    """Dispatch or cancel a ticket held for review."""
    return inline([[(t("btn_dispatch", lang), codec.encode(DISPATCH, ticket_id)),
                    (t("btn_cancel_ticket", lang), codec.encode(CANCEL, ticket_id))]])


def confirm_keyboard(codec: CallbackCodec, ticket_id: int, lang: str) -> Markup:
    """Fixed / Not fixed for the resident."""
    return inline([[(t("btn_fixed", lang), codec.encode(FIXED, ticket_id)),
                    (t("btn_not_fixed", lang), codec.encode(NOT_FIXED, ticket_id))]])


def rating_keyboard(codec: CallbackCodec, ticket_id: int) -> Markup:
    """1 to 5 stars."""
    return inline([[("⭐" * n, codec.encode(RATE, ticket_id, n)) for n in range(1, 6)]])


def category_keyboard(codec: CallbackCodec, rules: Rules, ticket_id: int, categories: list[str], lang: str) -> Markup:
    """The top category choices (by position in the rules' category list, to keep data short)."""
    order = list(rules.categories)
    buttons = [(rules.category_name(c, lang), codec.encode(CATEGORY, ticket_id, order.index(c)))
               for c in categories if c in rules.categories]
    return inline([buttons[i:i + 2] for i in range(0, len(buttons), 2)])


def areas_keyboard(codec: CallbackCodec, rules: Rules, action: str, ticket_id: int, area_ids: list[str],
                   lang: str, extra: list[tuple[str, str]] | None = None) -> Markup:
    """Buttons naming areas (communities or grids); area index keeps the data short."""
    order = list(rules.areas)
    buttons = [(rules.area_name(a, lang), codec.encode(action, ticket_id, order.index(a))) for a in area_ids]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    if extra:
        rows.insert(0, extra)
    return inline(rows)


def location_request_keyboard(lang: str) -> Markup:
    """A reply keyboard with the 'share my location' button."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t("btn_share_location", lang), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    ).to_dict()


def remove_keyboard() -> Markup:
    """Remove a reply keyboard."""
    return {"remove_keyboard": True}


def language_keyboard(codec: CallbackCodec) -> Markup:
    """中文 / English."""
    return inline([[("中文", codec.encode(LANG, 0, "zh")), ("English", codec.encode(LANG, 0, "en"))]])
