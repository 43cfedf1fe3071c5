"""No token reaches a log: every log record (of every logger: gridbot's, httpx, aiohttp, telegram, …) is
redacted when it is made, message, arguments and traceback alike.

Redacted: the configured token wherever it appears (its bot id, before the colon, is kept: it is public),
any ``bot<digits>:<secret>`` (a Bot API URL) and any bare ``<digits>:<35-character secret>`` (the shape of
a real token).
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

MASK = "***"
_PATTERNS = (
    re.compile(r"(bot\d+:)[A-Za-z0-9_\-]+"),
    re.compile(r"(?<![\w:])(\d{5,}:)[A-Za-z0-9_\-]{30,}"),
)
_secrets: set[str] = set()
_installed = False


def redact(text: str) -> str:
    """``text`` with every known secret and token-shaped string masked."""
    for secret in sorted(_secrets, key=len, reverse=True):
        bot_id, colon, _ = secret.partition(":")
        text = text.replace(secret, f"{bot_id}:{MASK}" if colon and bot_id.isdigit() else MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(rf"\g<1>{MASK}", text)
    return text


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a record whose arguments do not fit its format: keep its parts, redacted
        message = f"{record.msg} {record.args}"
    record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        # Formatters print exc_text when it is set, instead of formatting exc_info again.
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install(*secrets: str | None) -> None:
    """Redact ``secrets`` (and token-shaped strings) in every log record made from now on, in all loggers."""
    global _installed
    _secrets.update(s for s in secrets if s)
    if _installed:
        return
    _installed = True
    make = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
