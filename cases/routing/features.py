"""Text features shared by training and routing (module-level functions, so a trained model pickles).

* ``char_grams``: character 1–3-grams inside each word of the normalised text (width/case folded,
  traditional → simplified), a word padded with spaces as scikit-learn's ``char_wb`` does; a run of Chinese
  characters is one word, so 滴水 and 漏水 share 水 while English words keep their own grams.
* ``word_grams``: Snowball stems of the English words that carry meaning, alone and in pairs
  (``smelled of gas`` → ``smell``, ``gas``, ``smell gas``).
* ``keyword_row``: per category, the keyword weight found in the whole message and in its lead (the first
  sentence): a long complaint that mentions 老人 late in passing is weighed unlike one that opens with it.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from cases.routing.keywords import Match, content_stems, units
from cases.textnorm import normalize, words

__all__ = ["LEAD_CHARS", "char_grams", "keyword_row", "lead_end", "normalized_char_grams", "normalized_word_grams",
           "tfidf_row", "word_grams"]

LEAD_CHARS = 40
"""The lead of a message is its first sentence, and at least this many characters."""
_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.\s")


def char_grams(text: str) -> list[str]:
    """Character 1..3-grams within each normalised word, padded like ``char_wb``."""
    return normalized_char_grams(normalize(text))


def normalized_char_grams(norm: str) -> list[str]:
    """:func:`char_grams` of an already normalised text (``normalize(text)``, or ``normalize_mapped(text).text``).

    Read off the whole text padded once: words are separated by exactly one space, so every 2-gram of
    `` w1 w2 `` lies inside one padded word, and the only 3-grams that straddle two words have the space in
    the middle. The grams are those of padding each word on its own, in another order.
    """
    if "  " in norm or norm[:1] == " " or norm[-1:] == " ":  # not a normalised text: drop the empty words
        norm = " ".join(word for word in norm.split(" ") if word)
    if not norm:
        return []
    padded = f" {norm} "
    grams = list(norm.replace(" ", ""))  # unigrams (no lone pads)
    grams += [padded[i:i + 2] for i in range(len(padded) - 1)]
    grams += [padded[i:i + 3] for i in range(len(padded) - 2) if padded[i + 1] != " "]
    return grams


def word_grams(text: str) -> list[str]:
    """English content stems and adjacent stem pairs of the normalised text."""
    return normalized_word_grams(normalize(text))


def normalized_word_grams(norm: str) -> list[str]:
    """:func:`word_grams` of an already normalised text."""
    stems = content_stems(w for _, _, w in words(norm) if w.isascii() and not w.isdigit())
    return [*stems, *(f"{a} {b}" for a, b in itertools.pairwise(stems))]


def lead_end(text: str) -> int:
    """Where the lead (first sentence, at least :data:`LEAD_CHARS` characters) of ``text`` ends."""
    found = _SENTENCE_END.search(text, LEAD_CHARS)
    return found.end() if found else len(text)


def keyword_row(matches: Iterable[Match], categories: Sequence[str] | Mapping[str, int],
                end_of_lead: int) -> np.ndarray:
    """``[log1p(weight in message), log1p(weight in lead)]`` per category, in ``categories`` order (or at the
    positions a ``{category: position}`` mapping gives)."""
    order = categories if isinstance(categories, Mapping) else {c: n for n, c in enumerate(categories)}
    row = [0.0] * (2 * len(order))
    for match in matches:
        column = order.get(match.target)
        if column is None:
            continue
        weight = units(normalize(match.phrase)) * match.score / 100
        row[2 * column] += weight
        if match.start < end_of_lead:
            row[2 * column + 1] += weight
    return np.log1p(np.array(row, dtype=np.float64))


def tfidf_row(grams: Iterable[str], vocabulary: dict[str, int], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column indices (ascending) and values of one L2-normalised, sublinear TF-IDF row (as scikit-learn
    computes it). Each distinct gram is looked up once (``Counter`` counts in C)."""
    get = vocabulary.get
    columns: list[int] = []
    counts: list[int] = []
    for gram, count in Counter(grams).items():
        column = get(gram)
        if column is not None:
            columns.append(column)
            counts.append(count)
    if not columns:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    found = np.array(columns, dtype=np.int64)
    order = np.argsort(found)
    found = found[order]
    values = (1.0 + np.log(np.array(counts, dtype=np.float64)[order])) * idf[found]
    norm = float(np.sqrt(values @ values))
    return found, (values / norm if norm else values)
