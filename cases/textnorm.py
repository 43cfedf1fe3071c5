"""Text normalisation for matching what residents type against keywords and place names.

``normalize`` folds width and case (Unicode NFKC + casefold), collapses every run of whitespace,
punctuation, symbols and emoji into one space, and turns traditional Chinese into simplified (OpenCC
``t2s``). ``normalize_mapped`` does the same and remembers where each normalised character came from,
so a match can be reported at its position in the original text. ``pinyin_syllables`` gives the
toneless pinyin of each Chinese character, so that the homophone slips of pinyin input methods
(拉圾 for 垃圾, 水管暴了 for 水管爆了) have the same key as the intended word.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc
from pypinyin import lazy_pinyin

__all__ = [
    "Normalized",
    "cjk_runs",
    "has_cjk",
    "is_cjk",
    "normalize",
    "normalize_mapped",
    "pinyin_key",
    "pinyin_syllables",
    "syllable",
    "to_simplified",
    "words",
]

_T2S = opencc.OpenCC("t2s")
_WORD = re.compile(r"[^\W_]+")
_CJK_CLASS = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u3100-\u312f\u31a0-\u31bf\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
)
_CJK = re.compile(f"[{_CJK_CLASS}]")
_KEY_TOKEN = re.compile(f"[{_CJK_CLASS}]|[^\\s{_CJK_CLASS}]+")
_CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
_NON_CJK_WORD = re.compile(f"[^\\W_{_CJK_CLASS}]+")


def is_cjk(char: str) -> bool:
    """Whether ``char`` is a Chinese character (or kana/bopomofo), matched as a substring, not a word."""
    return _CJK.match(char) is not None


def has_cjk(text: str) -> bool:
    """Whether ``text`` contains at least one Chinese character."""
    return _CJK.search(text) is not None


def cjk_runs(text: str) -> list[tuple[int, str]]:
    """Each run of consecutive Chinese characters in ``text`` with its start."""
    return list(_cjk_runs(text))


@lru_cache(maxsize=16)
def _cjk_runs(text: str) -> tuple[tuple[int, str], ...]:
    """:func:`cjk_runs`, remembered for the last few texts: routing one message asks for the same text's runs once
    per phrase matcher (keywords, places); few, as a message may be 10,000 characters long."""
    return tuple((m.start(), m.group()) for m in _CJK_RUN.finditer(text))


def words(text: str) -> list[tuple[int, int, str]]:
    """Each word of ``text`` that is not Chinese (letters and digits), with its start and end."""
    return list(_words(text))


@lru_cache(maxsize=16)
def _words(text: str) -> tuple[tuple[int, int, str], ...]:
    """:func:`words`, remembered for the last few texts: routing one message asks for the same text's words once
    per phrase matcher (keywords, places, danger signals) and once for the classifier's stems."""
    return tuple((m.start(), m.end(), m.group()) for m in _NON_CJK_WORD.finditer(text))


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised text with, for every character, the index of the original character it came from."""

    original: str
    text: str
    folded: str
    """``text`` before traditional → simplified conversion (same length as ``text``)."""
    offsets: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``[start, end)`` that normalised characters ``[start, end)`` came from."""
        if end <= start or not self.offsets:
            return 0, 0
        first = self.offsets[start]
        last = self.offsets[end - 1] + 1
        return first, max(last, first + 1)

    def source(self, start: int, end: int) -> str:
        """The original text behind normalised characters ``[start, end)``."""
        first, last = self.span(start, end)
        return self.original[first:last]


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese, character for character (the length never changes).

    A text without Chinese characters is returned as it is: every key of OpenCC's ``t2s`` dictionaries
    (TSPhrases, TSCharacters) is Chinese characters only, and the conversion costs about 0.2 µs a character.
    """
    if not has_cjk(text):
        return text
    converted = _T2S.convert(text)
    if len(converted) == len(text):
        return converted
    return "".join(_simplified_char(char) for char in text)


@lru_cache(maxsize=65536)
def _simplified_char(char: str) -> str:
    converted = _T2S.convert(char)
    return converted if len(converted) == 1 else char


def _fold(text: str) -> tuple[str, list[int]]:
    """NFKC + casefold, with the original index of every resulting character."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if len(folded) == len(text):
        return folded, list(range(len(text)))
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        piece = unicodedata.normalize("NFKC", char).casefold()
        parts.append(piece)
        origin.extend([index] * len(piece))
    return "".join(parts), origin


def normalize_mapped(text: str) -> Normalized:
    """Normalise ``text`` for matching and keep the map back to the original positions."""
    folded, origin = _fold(text)
    pieces: list[str] = []
    offsets: list[int] = []
    for match in _WORD.finditer(folded):
        start, end = match.span()
        if pieces:
            pieces.append(" ")
            offsets.append(origin[start])
        pieces.append(match.group())
        offsets.extend(origin[start:end])
    compact = "".join(pieces)
    return Normalized(text, to_simplified(compact), compact, tuple(offsets))


@lru_cache(maxsize=16384)
def normalize(text: str) -> str:
    """Width/case folded, traditional → simplified, separators collapsed to single spaces (cached)."""
    folded, _ = _fold(text)
    return to_simplified(" ".join(_WORD.findall(folded)))


@lru_cache(maxsize=65536)
def syllable(char: str) -> str:
    """Toneless pinyin of one Chinese character (the character itself when it has none)."""
    if not is_cjk(char):
        return char
    result = lazy_pinyin(char)
    return result[0] if len(result) == 1 else char


@lru_cache(maxsize=256)
def pinyin_syllables(text: str) -> tuple[str, ...]:
    """One toneless syllable per character of ``text`` (non-Chinese characters stand for themselves; remembered
    for the last texts, as the keyword and place matchers read the same runs)."""
    return tuple(syllable(char) for char in text)


@lru_cache(maxsize=16384)
def pinyin_key(text: str) -> str:
    """Space-separated toneless pinyin of the normalised ``text``: 垃圾 and 拉圾 both give ``la ji``.

    Each character is read on its own (as the matcher does), other words are kept as they are.
    """
    return " ".join(syllable(token) for token in _KEY_TOKEN.findall(normalize(text)))
