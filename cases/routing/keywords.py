"""Finding phrases (category keywords, place names) in a resident's message.

A :class:`PhraseMatcher` is built once from ``(phrase, target)`` pairs and then finds, in one
normalised message, every phrase it knows, in four stages:

1. **exact** Chinese substrings: a dict per phrase length, probed only at positions whose character
   starts some phrase (width, case and traditional characters are already folded by
   :mod:`cases.textnorm`, so 樓道燈 finds 楼道灯 with form ``t2s``);
2. **exact** word phrases (English, pinyin names): the message's words are looked up as runs of 1..n
   words, spaces removed and a light suffix stem applied, so ``burst pipes`` and ``burstpipe`` both
   find ``burst pipe`` (form ``variant`` unless the words are identical). An -ed/-ing form of a one-word
   keyword (``fired``, ``firing`` for ``fire``) is form ``verb`` with :data:`VERB_FORM_SCORE`, since it
   often means something else (dismissed, shooting);
3. **pinyin** homophones for Chinese phrases: the toneless syllables of each run of Chinese characters
   are looked up the same way; a hit must share at least one character with the phrase and differ in
   at most half of them (拉圾 → 垃圾, but 大家 is not 打架);
4. **fuzzy** typos for word phrases: unknown words of the message are compared with every phrase word
   in one :func:`rapidfuzz.process.cdist` call; each phrase containing a close word is scored as a whole
   with :func:`rapidfuzz.fuzz.ratio` against a length-aware threshold (none for phrases of 4 letters
   or fewer, so ``bin`` never fuzzily matches ``bun``);
5. **window** English phrases of several words found as a set of stems (Snowball) within a small window, in
   any order and with other words in between: ``I smell gas``, ``gas smell`` and ``smelled of gas`` all find
   ``smell of gas`` (form ``window``, score :data:`WINDOW_SCORE`; small words such as ``of`` are ignored);
6. **split** Chinese phrases of 3 or more characters written with a few other characters in between, as
   people talk: 楼道里的灯 finds 楼道灯, 灯全坏了 finds 灯坏了. At most :data:`SPLIT_GAP` characters in
   all, Chinese ones only (never across punctuation), scored below every exact form so the category is
   marked uncertain when nothing else supports it.

Exact stages scan the whole message; the pinyin, fuzzy and split stages look only at its beginning
(:data:`PINYIN_CHARS`, :data:`FUZZY_WORDS`) so a 10,000-character message costs little more.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import snowballstemmer
from rapidfuzz import fuzz, process

from cases.textnorm import Normalized, cjk_runs, has_cjk, is_cjk, normalize, pinyin_syllables, words

__all__ = [
    "FUZZY_WORDS",
    "PINYIN_CHARS",
    "Match",
    "MatchForm",
    "PhraseMatcher",
    "content_stems",
    "fuzzy_cutoff",
    "resolve_overlaps",
    "stem",
    "units",
    "word_stem",
]

MatchForm = Literal["exact", "t2s", "variant", "verb", "pinyin", "fuzzy", "window", "split"]
PINYIN_CHARS = 512
"""Only this many normalised characters from the start are searched for pinyin homophones."""
FUZZY_WORDS = 64
"""Only this many words from the start are searched for typos."""
_PINYIN_SCORE_FLOOR = 70.0
_FUZZY_WORD_FLOOR = 70.0
_CLOSE_CACHE = 100_000
"""Unknown words remembered with their close phrase words (residents reuse the same words)."""
_MAX_EXTRA_WORDS = 1
SPLIT_GAP = 2
"""A split phrase may have at most this many other characters between its own."""
_SPLIT_MIN_CHARS = 3
_SPLIT_SCORE = 85.0
_SPLIT_STEP = 5.0
"""A split match scores ``_SPLIT_SCORE - _SPLIT_STEP * characters in between``."""
WINDOW_SCORE = 95.0
"""A multi-word phrase found as its stems in another order or with words in between."""
WINDOW_EXTRA = 3
"""At most this many other words may stand among a window match's own words."""
WINDOW_WORDS = 256
"""Only this many words from the start are searched for window matches."""
_STOP_TEXT = ("a an the of in on at to from for with by and or is are was were be been it its my our your their this "
              "that there here some any like very so")
STOP_WORDS = frozenset(_STOP_TEXT.split(" "))
"""Small English words ignored when a phrase is matched as a set of stems."""
VERB_FORM_SCORE = 85.0
"""An -ed/-ing form of a one-word keyword (``fired`` for ``fire``) scores below every exact form, so the
category is marked uncertain (the resident is offered the choices) when nothing else supports it."""


@dataclass(frozen=True, slots=True)
class Match:
    """One phrase found in the message."""

    phrase: str
    """The phrase as written in the rules."""
    target: str
    """What the phrase points to: a category id or a grid id."""
    order: int
    """Position of the phrase in the rules (for deterministic tie-breaks)."""
    form: MatchForm
    score: float
    """100 for exact forms; the fuzzy or pinyin similarity otherwise."""
    start: int
    """Start in the original message (characters)."""
    end: int
    found: str
    """The original text that matched."""
    norm_start: int
    norm_end: int
    detail: str = ""
    """For pinyin matches, the shared syllables."""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view."""
        data: dict[str, object] = {
            "phrase": self.phrase, "target": self.target, "form": self.form, "score": self.score,
            "start": self.start, "end": self.end, "found": self.found,
        }
        if self.detail:
            data["detail"] = self.detail
        return data


def _verb_form_of(word: str, keyword: str) -> bool:
    """``word`` is an -ed/-ing form of the one-word ``keyword`` that is not itself such a form: ``fired`` or
    ``firing`` for ``fire`` (dismissed, shooting), ``parked`` for ``park``; unlike a plural it often means
    something else."""
    return " " not in keyword and word.endswith(_VERB_ENDINGS) and not keyword.endswith(_VERB_ENDINGS)


_VERB_ENDINGS = ("ed", "ing")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English suffix stem used on both sides of a comparison (``pipes``, ``pipe`` → ``pip``)."""
    if len(word) <= 3 or not word.isascii():
        return word
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word[:-1] if word.endswith("e") else word


_SNOWBALL = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def word_stem(word: str) -> str:
    """The Snowball (Porter 2) stem of an English word (``smelled``, ``smells`` → ``smell``); others unchanged."""
    if not word.isascii() or not word.isalpha():
        return word
    return str(_SNOWBALL.stemWord(word))


def content_stems(words_: Iterable[str]) -> tuple[str, ...]:
    """Stems of the words that carry meaning (not in :data:`STOP_WORDS`, longer than one letter)."""
    return tuple(word_stem(w) for w in words_ if len(w) > 1 and w not in STOP_WORDS)


@lru_cache(maxsize=65536)
def units(text: str) -> int:
    """Weight of a phrase: 2 per Chinese character, 1 per other non-space character (cached: phrases repeat)."""
    return sum(2 if is_cjk(char) else 1 for char in text if not char.isspace())


def fuzzy_cutoff(length: int) -> float | None:
    """Lowest fuzzy score accepted for a phrase of ``length`` characters (None: exact only)."""
    if length <= 4:
        return None
    if length <= 6:
        return 90.0
    if length <= 9:
        return 85.0
    return 80.0


@dataclass(frozen=True, slots=True)
class _Entry:
    phrase: str
    norm: str
    target: str
    order: int
    words: tuple[str, ...]


class PhraseMatcher:
    """Finds known phrases in normalised messages; build once, query many times from any thread.

    The only state that changes after construction is a cache of unknown words → close phrase words.
    """

    def __init__(self, phrases: Iterable[tuple[str, str]]) -> None:
        self.entries: list[_Entry] = []
        self._cjk: dict[str, list[_Entry]] = {}
        self._words: dict[str, list[_Entry]] = {}
        self._pinyin: dict[tuple[str, ...], list[_Entry]] = {}
        self._by_word: dict[str, list[tuple[_Entry, int]]] = {}
        self._split: dict[str, list[_Entry]] = {}
        self._window: dict[str, list[tuple[_Entry, frozenset[str]]]] = {}
        seen: set[tuple[str, str]] = set()
        windowed: list[tuple[_Entry, frozenset[str]]] = []
        for order, (phrase, target) in enumerate(phrases):
            norm = normalize(phrase)
            if not norm or (norm, target) in seen:
                continue
            seen.add((norm, target))
            entry = _Entry(phrase, norm, target, order, tuple(norm.split(" ")))
            self.entries.append(entry)
            if has_cjk(norm):
                self._cjk.setdefault(norm, []).append(entry)
                if " " not in norm and len(norm) >= 2 and all(is_cjk(char) for char in norm):
                    self._pinyin.setdefault(pinyin_syllables(norm), []).append(entry)
                    if len(norm) >= _SPLIT_MIN_CHARS:
                        self._split.setdefault(norm[0], []).append(entry)
            else:
                self._words.setdefault(stem("".join(entry.words)), []).append(entry)
                for position, word in enumerate(entry.words):
                    self._by_word.setdefault(word, []).append((entry, position))
                stems = frozenset(content_stems(entry.words))
                if len(stems) >= 2:
                    windowed.append((entry, stems))
        # A window match needs every stem of its phrase, so each phrase is filed under its rarest stem only.
        stem_count = Counter(one for _, stems in windowed for one in stems)
        for entry, stems in windowed:
            rarest = min(stems, key=lambda one: (stem_count[one], one))
            self._window.setdefault(rarest, []).append((entry, stems))
        # A split match needs every character of its phrase in the text, so each phrase is filed under its rarest
        # character (with its place under its first character, which orders the matches found at one position).
        char_count = Counter(char for group in self._split.values() for entry in group for char in set(entry.norm))
        self._split_by_rare: dict[str, list[tuple[int, _Entry, frozenset[str]]]] = {}
        for group in self._split.values():
            for rank, entry in enumerate(group):
                chars = frozenset(entry.norm)
                rarest = min(chars, key=lambda one: (char_count[one], one))
                self._split_by_rare.setdefault(rarest, []).append((rank, entry, chars))
        self._cjk_lengths = sorted({len(key) for key in self._cjk})
        self._cjk_first = {key[0] for key in self._cjk}
        self._pinyin_lengths = sorted({len(key) for key in self._pinyin})
        self._pinyin_first = {key[0] for key in self._pinyin}
        self._max_words = max((len(e.words) for e in self.entries if not has_cjk(e.norm)), default=0)
        self._vocab = sorted(self._by_word)
        self._vocab_stems = {stem(word) for word in self._vocab}
        self._close: dict[str, tuple[str, ...]] = {}

    def find(self, text: Normalized, *, loose: bool = True) -> list[Match]:
        """Every phrase found in ``text``, in all forms, before any overlap is resolved; without ``loose``
        the pinyin and fuzzy look-alikes are not searched."""
        matches: list[Match] = []
        if self._cjk:
            self._find_cjk(text, matches)
        tokens = words(text.text)
        if self._words and tokens:
            self._find_words(text, tokens, matches)
        if self._pinyin and loose:
            for offset, run in cjk_runs(text.text[:PINYIN_CHARS]):
                if len(run) >= 2:
                    self._pinyin_run(text, offset, run, matches)
        if self._vocab and tokens and loose:
            self._find_fuzzy(text, tokens[:FUZZY_WORDS], matches)
        if self._window and len(tokens) >= 2:
            self._find_window(text, tokens[:WINDOW_WORDS], matches)
        if self._split:
            self._find_split(text, matches)
        return matches

    # ---- stages ----

    def _match(self, text: Normalized, entry: _Entry, form: MatchForm, score: float, start: int, end: int,
               detail: str = "") -> Match:
        first, last = text.span(start, end)
        return Match(entry.phrase, entry.target, entry.order, form, round(score, 1), first, last,
                     text.original[first:last], start, end, detail)

    def _find_cjk(self, text: Normalized, out: list[Match]) -> None:
        norm, folded = text.text, text.folded
        size = len(norm)
        first_chars = self._cjk_first
        for start, char in enumerate(norm):
            if char not in first_chars:
                continue
            for length in self._cjk_lengths:
                end = start + length
                if end > size:
                    break
                entries = self._cjk.get(norm[start:end])
                if entries:
                    form: MatchForm = "exact" if folded[start:end] == norm[start:end] else "t2s"
                    out.extend(self._match(text, entry, form, 100.0, start, end) for entry in entries)

    def _find_words(self, text: Normalized, tokens: list[tuple[int, int, str]], out: list[Match]) -> None:
        span = self._max_words + _MAX_EXTRA_WORDS
        for index in range(len(tokens)):
            joined = ""
            for last in range(index, min(index + span, len(tokens))):
                joined += tokens[last][2]
                entries = self._words.get(stem(joined))
                if not entries:
                    continue
                start, end = tokens[index][0], tokens[last][1]
                for entry in entries:
                    if text.text[start:end] == entry.norm:
                        out.append(self._match(text, entry, "exact", 100.0, start, end))
                    elif index == last and _verb_form_of(tokens[index][2], entry.norm):
                        out.append(self._match(text, entry, "verb", VERB_FORM_SCORE, start, end))
                    else:
                        out.append(self._match(text, entry, "variant", 100.0, start, end))

    def _pinyin_run(self, text: Normalized, offset: int, chars: str, out: list[Match]) -> None:
        syllables = pinyin_syllables(chars)
        size = len(syllables)
        for start in range(size):
            if syllables[start] not in self._pinyin_first:
                continue
            for length in self._pinyin_lengths:
                end = start + length
                if end > size:
                    break
                entries = self._pinyin.get(syllables[start:end])
                if not entries:
                    continue
                written = chars[start:end]
                for entry in entries:
                    same = sum(a == b for a, b in zip(written, entry.norm, strict=True))
                    if same == length or same == 0 or length - same > max(1, length // 2):
                        continue
                    score = _PINYIN_SCORE_FLOOR + (100 - _PINYIN_SCORE_FLOOR) * same / length
                    out.append(self._match(text, entry, "pinyin", score, offset + start, offset + end,
                                           " ".join(syllables[start:end])))

    def _find_fuzzy(self, text: Normalized, tokens: list[tuple[int, int, str]], out: list[Match]) -> None:
        unknown = {w for _, _, w in tokens if len(w) >= 4 and stem(w) not in self._vocab_stems}
        close = self._close_words(unknown)
        if not close:
            return
        tried: set[tuple[int, int]] = set()
        for index, (_, _, word) in enumerate(tokens):
            for vocab_word in close.get(word, ()):
                for entry, position in self._by_word[vocab_word]:
                    first = index - position
                    last = first + len(entry.words) - 1
                    if first < 0 or last >= len(tokens) or (entry.order, first) in tried:
                        continue
                    tried.add((entry.order, first))
                    cutoff = fuzzy_cutoff(len(entry.norm))
                    if cutoff is None:
                        continue
                    start, end = tokens[first][0], tokens[last][1]
                    score = fuzz.ratio(text.text[start:end], entry.norm, score_cutoff=cutoff)
                    if score:
                        out.append(self._match(text, entry, "fuzzy", score, start, end))

    def _find_window(self, text: Normalized, tokens: list[tuple[int, int, str]], out: list[Match]) -> None:
        positions: dict[str, list[int]] = {}
        for index, (_, _, word) in enumerate(tokens):
            if len(word) > 1 and word not in STOP_WORDS:
                positions.setdefault(word_stem(word), []).append(index)
        done = {m.order for m in out}  # found in order already: no window match needed
        for one in positions:
            for entry, stems in self._window.get(one, ()):
                if entry.order in done or not stems <= positions.keys():
                    continue
                done.add(entry.order)
                span = _smallest_window([(p, s) for s in stems for p in positions[s]], len(stems))
                if span is not None and span[1] - span[0] + 1 <= len(stems) + WINDOW_EXTRA:
                    start, end = tokens[span[0]][0], tokens[span[1]][1]
                    out.append(self._match(text, entry, "window", WINDOW_SCORE, start, end))

    def _find_split(self, text: Normalized, out: list[Match]) -> None:
        """Split phrases, in order of their start, then of their place under their first character (as a scan of
        every position would find them). Only phrases whose characters all occur in the text are tried, each at
        every occurrence of its first character."""
        norm = text.text[:PINYIN_CHARS]
        present = set(norm)
        found: list[tuple[int, int, Match]] = []
        for char in present:
            for rank, entry, chars in self._split_by_rare.get(char, ()):
                if not chars <= present:  # a character of the phrase is missing
                    continue
                first = entry.norm[0]
                start = norm.find(first)
                while start >= 0:
                    end, gap = _split_end(norm, start, entry.norm)
                    if end is not None and gap > 0:
                        found.append((start, rank, self._match(text, entry, "split", _SPLIT_SCORE - _SPLIT_STEP * gap,
                                                               start, end, norm[start:end])))
                    start = norm.find(first, start + 1)
        if found:
            found.sort(key=lambda one: (one[0], one[1]))
            out.extend(match for _, _, match in found)

    def _close_words(self, unknown: set[str]) -> dict[str, tuple[str, ...]]:
        """Phrase words within reach of each unknown word: one cdist call for words not seen before,
        remembered afterwards (safe to share between threads: a cleared cache only costs a recompute)."""
        result: dict[str, tuple[str, ...]] = {}
        new: list[str] = []
        for word in sorted(unknown):
            cached = self._close.get(word)
            if cached is None:
                new.append(word)
            elif cached:
                result[word] = cached
        if not new:
            return result
        if len(self._close) > _CLOSE_CACHE:
            self._close.clear()
        scores = process.cdist(new, self._vocab, scorer=fuzz.ratio, score_cutoff=_FUZZY_WORD_FLOOR, dtype=np.uint8)
        found: dict[str, list[str]] = {}
        for row, column in zip(*np.nonzero(scores), strict=True):
            found.setdefault(new[int(row)], []).append(self._vocab[int(column)])
        for word in new:
            close = tuple(found.get(word, ()))
            self._close[word] = close
            if close:
                result[word] = close
        return result


def _smallest_window(hits: list[tuple[int, str]], wanted: int) -> tuple[int, int] | None:
    """The shortest ``(first, last)`` run of token positions holding all ``wanted`` distinct stems."""
    hits.sort()
    best: tuple[int, int] | None = None
    counts: dict[str, int] = {}
    left = 0
    for position, stem_ in hits:
        counts[stem_] = counts.get(stem_, 0) + 1
        while len(counts) == wanted:
            first = hits[left][0]
            if best is None or position - first < best[1] - best[0]:
                best = (first, position)
            gone = hits[left][1]
            counts[gone] -= 1
            if not counts[gone]:
                del counts[gone]
            left += 1
    return best


def _split_end(norm: str, start: int, phrase: str) -> tuple[int | None, int]:
    """Where ``phrase`` (whose first character is at ``start``) ends when read with up to :data:`SPLIT_GAP`
    Chinese characters in between, and how many were skipped; ``(None, 0)`` if it is not there."""
    position, gap = start + 1, 0
    for char in phrase[1:]:
        while position < len(norm) and norm[position] != char:
            if gap == SPLIT_GAP or not is_cjk(norm[position]):
                return None, 0
            gap += 1
            position += 1
        if position >= len(norm):
            return None, 0
        position += 1
    return position, gap


def resolve_overlaps(matches: list[Match]) -> list[Match]:
    """Drop matches inside a longer match (下水管 hides 水管), repeats of a phrase, and a second phrase
    of the same target on the same span (``street light`` found as both ``streetlight`` and itself).

    The result is ordered by position in the message.
    """
    ranked = sorted(matches, key=lambda m: (-(m.norm_end - m.norm_start), -m.score, m.norm_start, m.order))
    kept: list[Match] = []
    seen: set[tuple[str, int]] = set()
    spans: set[tuple[str, int, int]] = set()
    for match in ranked:
        span = (match.target, match.norm_start, match.norm_end)
        if (match.target, match.order) in seen or span in spans:
            continue
        width = match.norm_end - match.norm_start
        if any(k.norm_start <= match.norm_start and match.norm_end <= k.norm_end
               and k.norm_end - k.norm_start > width for k in kept):
            continue
        seen.add((match.target, match.order))
        spans.add(span)
        kept.append(match)
    return sorted(kept, key=lambda m: (m.norm_start, m.order))
