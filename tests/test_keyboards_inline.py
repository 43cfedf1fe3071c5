"""The inline keyboards built as plain dicts are exactly what python-telegram-bot's objects serialise to."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.keyboards import inline


def _ptb(rows: list[list[tuple[str, str]]]) -> dict[str, object]:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    ).to_dict()


def test_inline_equals_ptb_serialisation() -> None:
    cases: list[list[list[tuple[str, str]]]] = [
        [],
        [[]],
        [[("认领", "1:c:42:abc"), ("详情", "1:d:42:def")]],
        [[("a", "x")], [("b", "y"), ("c", "z")], [("🚨 紧急", "1:ct:7:q")]],
    ]
    for rows in cases:
        assert inline(rows) == _ptb(rows)
        assert repr(inline(rows)) == repr(_ptb(rows))  # the same keys in the same order: the same JSON
