"""The labelled routing examples (``routing_examples/*.tsv``) and the separate evaluation sets
(``benchmarks/data/*_eval.tsv``) are well formed: header ``category<TAB>emergency<TAB>text``, known
category ids, ``yes``/``no`` emergency, no duplicate text, and no evaluation text ever in the training set."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
TRAIN_DIR = ROOT / "routing_examples"
EVAL_FILES = [ROOT / "benchmarks" / "data" / "en_311_eval.tsv", ROOT / "benchmarks" / "data" / "zh_hotline_eval.tsv"]
HEADER = ["category", "emergency", "text"]
YES_NO = {"yes", "no"}
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class Row(NamedTuple):
    """One labelled example and where it stands (file:line) for error messages."""

    where: str
    category: str
    emergency: str
    text: str


def read_tsv(path: Path) -> tuple[list[Row], list[str]]:
    """The rows of one example file and the format problems found in it (one line each)."""
    rows: list[Row] = []
    problems: list[str] = []
    header_seen = False
    for number, line in enumerate(path.read_text("utf-8").split("\n"), start=1):
        where = f"{path.name}:{number}"
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if not header_seen:
            header_seen = True
            if fields != HEADER:
                problems.append(f"{where}: header must be {HEADER}, got {fields}")
            continue
        if len(fields) != 3:
            problems.append(f"{where}: expected 3 tab-separated fields, got {len(fields)}")
            continue
        category, emergency, text = fields
        if text != text.strip() or not text or "\r" in text:
            problems.append(f"{where}: text is empty or has stray whitespace")
        rows.append(Row(where, category, emergency, text))
    if not header_seen:
        problems.append(f"{path.name}: no header line")
    return rows, problems


def category_ids() -> set[str]:
    rules = YAML(typ="safe").load((ROOT / "routing_rules.yaml").read_text("utf-8"))
    return set(rules["categories"])


def training_files() -> list[Path]:
    return sorted(TRAIN_DIR.glob("*.tsv"))


def eval_files() -> list[Path]:
    """The evaluation files written so far (the size test below requires both)."""
    return [path for path in EVAL_FILES if path.exists()]


def all_rows(paths: list[Path]) -> list[Row]:
    return [row for path in paths for row in read_tsv(path)[0]]


def fold(text: str) -> str:
    """The form two texts are compared in for duplicates: case, spaces and punctuation ignored."""
    return re.sub(r"[\W_]+", "", text.casefold()) or text


def test_reader_reports_bad_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("category\temergency\ttext\n# a comment\nwater\tno\n\ngas\tyes\t 有味道\n", "utf-8")
    rows, problems = read_tsv(bad)
    assert [r.category for r in rows] == ["gas"]
    assert problems == [
        "bad.tsv:3: expected 3 tab-separated fields, got 2",
        "bad.tsv:5: text is empty or has stray whitespace",
    ]
    assert fold("Pothole at 5th & Main!") == fold("pothole at 5th main")


@pytest.mark.parametrize("path", [*training_files(), *eval_files()], ids=lambda p: p.name)
def test_file_is_well_formed(path: Path) -> None:
    rows, problems = read_tsv(path)
    ids = category_ids()
    problems += [f"{r.where}: unknown category {r.category!r}" for r in rows if r.category not in ids]
    problems += [f"{r.where}: emergency must be yes/no, not {r.emergency!r}" for r in rows if r.emergency not in YES_NO]
    assert rows and problems == []


def test_no_duplicate_texts_and_eval_never_in_training() -> None:
    train = all_rows(training_files())
    evaluation = all_rows(eval_files())
    seen: dict[str, str] = {}
    duplicates = []
    for row in [*train, *evaluation]:
        key = fold(row.text)
        if key in seen:
            duplicates.append(f"{row.where} repeats {seen[key]}: {row.text}")
        seen.setdefault(key, row.where)
    assert duplicates == []


def test_training_set_covers_every_category_language_and_emergencies() -> None:
    rows = all_rows(training_files())
    per_category = Counter(r.category for r in rows)
    english = Counter(r.category for r in rows if not CJK.search(r.text))
    chinese = Counter(r.category for r in rows if CJK.search(r.text))
    assert len(rows) >= 2400
    assert {c: per_category[c] for c in category_ids() if per_category[c] < (250 if c == "other" else 120)} == {}
    assert {c: (english[c], chinese[c]) for c in category_ids() if min(english[c], chinese[c]) < 50} == {}
    assert sum(english.values()) >= 0.4 * len(rows)
    assert sum(1 for r in rows if r.emergency == "yes") >= 250
    assert [r.where for r in rows if r.category == "other" and r.emergency == "yes"] == []


def test_evaluation_sets_have_their_size() -> None:
    english, chinese = (all_rows([path]) for path in EVAL_FILES)
    assert len(english) >= 280 and [r.where for r in english if CJK.search(r.text)] == []
    assert len(chinese) >= 180 and [r.where for r in chinese if not CJK.search(r.text)] == []
    assert sum(1 for r in [*english, *chinese] if r.emergency == "yes") >= 40
