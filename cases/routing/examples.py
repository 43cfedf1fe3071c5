"""Labelled routing examples: reading and writing the TSV files, and the fixed held-out split.

A file is UTF-8 text: ``#`` lines are comments, the first other line is the header
``category<TAB>emergency<TAB>text``, then one example per line (``emergency`` is ``yes`` or ``no``; the text
has no tab or newline). An example is held out (never trained on) when the SHA-256 of its normalised text
falls in the first :data:`HELD_OUT_PERCENT` of the hash range: the split depends on nothing but the text,
so it never moves when files are added, reordered or retrained on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cases.textnorm import normalize

__all__ = ["HEADER", "HELD_OUT_PERCENT", "Example", "ExampleError", "held_out", "read_examples", "read_file",
           "split", "write_examples"]

HEADER = ("category", "emergency", "text")
HELD_OUT_PERCENT = 20
_YES = {"yes": True, "no": False}


class ExampleError(ValueError):
    """A labelled file that cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message."""

    category: str
    emergency: bool
    text: str
    source: str = ""
    """Where it came from: ``file.tsv:12`` or ``local:<id>``."""


def held_out(text: str) -> bool:
    """Whether ``text`` belongs to the fixed held-out split (deterministic, by a hash of the normalised text)."""
    digest = hashlib.sha256(normalize(text).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < HELD_OUT_PERCENT


def split(examples: Iterable[Example]) -> tuple[list[Example], list[Example]]:
    """``(train, held_out)``; a text that appears in both halves is impossible (the split is by text)."""
    train: list[Example] = []
    test: list[Example] = []
    for example in examples:
        (test if held_out(example.text) else train).append(example)
    return train, test


def read_file(path: Path, categories: Iterable[str] | None = None) -> list[Example]:
    """The examples of one TSV file; an unknown category or a malformed line raises :class:`ExampleError`."""
    known = set(categories) if categories is not None else None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ExampleError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ExampleError(f"{path}: cannot read the file ({exc.strerror})") from None
    examples: list[Example] = []
    header_seen = False
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if not header_seen:
            if tuple(f.strip().lower() for f in fields) != HEADER:
                raise ExampleError(f"{path}:{number}: the first line must be the header category<TAB>emergency"
                                   "<TAB>text")
            header_seen = True
            continue
        if len(fields) != 3:
            raise ExampleError(f"{path}:{number}: expected 3 tab-separated fields, found {len(fields)}")
        category, emergency, text = (f.strip() for f in fields)
        if known is not None and category not in known:
            raise ExampleError(f"{path}:{number}: unknown category {category!r}")
        if emergency.lower() not in _YES:
            raise ExampleError(f"{path}:{number}: emergency must be yes or no, not {emergency!r}")
        if text:
            examples.append(Example(category, _YES[emergency.lower()], text, f"{path.name}:{number}"))
    return examples


def read_examples(where: Path, categories: Iterable[str] | None = None) -> list[Example]:
    """Every example of a TSV file, or of every ``*.tsv`` in a directory (sorted by name); none if missing."""
    if where.is_file():
        return read_file(where, categories)
    if not where.is_dir():
        return []
    cats = list(categories) if categories is not None else None
    return [example for path in sorted(where.glob("*.tsv")) for example in read_file(path, cats)]


def _clean(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def write_examples(path: Path, examples: Iterable[Example], comment: str = "") -> int:
    """Write ``examples`` as a TSV file (tabs and newlines in texts become spaces); the number written."""
    lines = [f"# {line}" for line in comment.splitlines()] + ["\t".join(HEADER)]
    count = 0
    for example in examples:
        lines.append(f"{example.category}\t{'yes' if example.emergency else 'no'}\t{_clean(example.text)}")
        count += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return count
