"""The checker every "words people read" test uses: no English word inside Chinese text, no Python value
(``None``, a list, a dict, a datetime) anywhere."""

from __future__ import annotations

import re

ALLOWED_IN_CHINESE = {"working_hours", "holidays", "English"}
"""English a Chinese text may hold on purpose: a key of the rules file, the English language's own name."""
_REPR = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|\{'|\['|datetime\(|timedelta\(|<[a-z_.]+ object")


def english_words(text: str) -> list[str]:
    """ASCII words in ``text`` that are not commands (/mine), field names or allowed on purpose."""
    text = re.sub(r"/[a-z_]+", "", text)  # commands
    return [w for w in re.findall(r"[A-Za-z][A-Za-z_]+", text) if w not in ALLOWED_IN_CHINESE]


def check(text: str, lang: str, what: str) -> None:
    """Fail when ``text`` shows a Python value, or (``lang`` zh) holds an English word."""
    assert not _REPR.search(text), f"{what} ({lang}) shows a Python value: {text!r}"
    if lang == "zh":
        assert not english_words(text), f"{what} (zh) has English words {english_words(text)}: {text!r}"
