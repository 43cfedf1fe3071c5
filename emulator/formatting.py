"""What Telegram accepts from a bot in text and keyboards: parse modes, lengths and reply markup.

Each check raises the same 400 Telegram answers, so a bot that passes here passes there.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from typing import Any

from emulator.errors import JSON, bad_request

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

_ALLOWED_HTML = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}
_MD2_RESERVED = re.compile(r"(?<!\\)[.!#+\-={}]")
#: Fields that make an inline keyboard button more than a bare label.
_BUTTON_KINDS = frozenset(
    {
        "callback_data",
        "url",
        "switch_inline_query",
        "web_app",
        "login_url",
        "pay",
        "switch_inline_query_current_chat",
        "copy_text",
        "callback_game",
    }
)


class _HtmlChecker(HTMLParser):
    """Validates Telegram's HTML subset and collects the plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_HTML:
            raise bad_request(f'can\'t parse entities: Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise bad_request(f'can\'t parse entities: Unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def parse_formatted(text: str, parse_mode: str | None) -> str:
    """Check ``text`` against ``parse_mode`` like Telegram does and return the visible text."""
    mode = (parse_mode or "").lower()
    if not mode:
        return text
    if mode == "html":
        if re.search(r"<(?![A-Za-z/])", text) or re.search(r"&(?!#?\w+;)", text):
            raise bad_request("can't parse entities: unescaped '<' or '&'")
        checker = _HtmlChecker()
        checker.feed(text)
        checker.close()
        if checker.stack:
            raise bad_request(
                f"can't parse entities: Can't find end tag corresponding to \"{checker.stack[-1]}\""
            )
        return html.unescape("".join(checker.parts))
    if mode == "markdownv2":
        bad = _MD2_RESERVED.search(text)
        if bad:
            raise bad_request(
                f"can't parse entities: Character '{bad.group()}' is reserved and must be escaped "
                "with the preceding '\\'"
            )
        return re.sub(r"\\(.)", r"\1", re.sub(r"(?<!\\)[*_~|`]", "", text))
    if mode == "markdown":
        return re.sub(r"(?<!\\)[*_`]", "", text)
    raise bad_request(f"unsupported parse_mode {parse_mode!r}")


def message_text(raw: str, parse_mode: str | None, too_long: str) -> str:
    """The visible text of a message body: formatted, non-empty, at most :data:`MAX_TEXT` characters.

    ``too_long`` is Telegram's description for an over-long text (it differs between send and edit).
    """
    text = parse_formatted(raw, parse_mode)
    if not text.strip():
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT:
        raise bad_request(too_long)
    return text


def caption_text(params: JSON) -> str | None:
    """The visible caption of ``params`` (None when there is none), at most :data:`MAX_CAPTION` characters."""
    raw = params.get("caption")
    if raw is None:
        return None
    caption = parse_formatted(str(raw), params.get("parse_mode"))
    if len(caption) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return caption


def validate_markup(markup: Any) -> JSON | None:
    """Validate a reply_markup object like Telegram does; return it normalised."""
    if markup is None:
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            raise bad_request("can't parse reply keyboard markup JSON object") from None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        for row in _rows(markup, "inline_keyboard", "InlineKeyboardMarkup"):
            for b in row:
                if not isinstance(b, dict) or not b.get("text"):
                    raise bad_request("can't parse inline keyboard button: Text buttons are unallowed")
                data = b.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                    raise bad_request("BUTTON_DATA_INVALID")
                if not _BUTTON_KINDS & b.keys():
                    raise bad_request("can't parse inline keyboard button: Text buttons are unallowed")
        return markup
    if "keyboard" in markup:
        for row in _rows(markup, "keyboard", "ReplyKeyboardMarkup"):
            for b in row:
                if not (isinstance(b, str) and b) and not (isinstance(b, dict) and b.get("text")):
                    raise bad_request("can't parse keyboard button: Text must be non-empty")
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request('can\'t find field "inline_keyboard"')


def _rows(markup: JSON, field: str, kind: str) -> list[list[Any]]:
    """The button rows of a keyboard: ``markup[field]`` must be an array of arrays."""
    rows = markup[field]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(f'field "{field}" of the {kind} must be an Array')
    return rows


def markup_key(markup: JSON | None) -> str:
    """A canonical string of ``markup`` for comparing keyboards ("" for none)."""
    return json.dumps(markup, sort_keys=True, ensure_ascii=False) if markup else ""


def inline_only(markup: JSON | None) -> JSON | None:
    """``markup`` if it is an inline keyboard (the only kind a message carries), else None."""
    return markup if markup and markup.get("inline_keyboard") else None
