"""The digest chart is drawn in the reader's language with area names, and every Chinese character is drawn
from a font that has it (no fallback boxes). Needs a CJK font: Debian ``fonts-wqy-microhei``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from matplotlib.ft2font import FT2Font

from cases.digest import Digest, GridRow, TrendPoint
from cases.digest_chart import chart_language, cjk_font_file, drawn_texts, render_digest_chart
from cases.rules.loader import load_rules
from cases.rules.schema import Rules

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(ROOT / "routing_rules.yaml")


def _digest(rules: Rules) -> Digest:
    day = date(2026, 3, 5)
    grids = [GridRow(grid=g, open=3, overdue=i, status=("red", "amber", "green")[i % 3])
             for i, g in enumerate(rules.grids)]
    trend = [TrendPoint(day=day - timedelta(days=29 - i), new=i % 4, closed=i % 3, overdue=i % 2) for i in range(30)]
    return Digest(area=rules.root, kind="district", day=day, generated_at=datetime(2026, 3, 6, 0, 30, tzinfo=UTC),
                  open=20, overdue=7, status="red", grids=grids, trend=trend)


def _cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_a_chinese_chart_draws_every_glyph_from_a_font_that_has_it(rules: Rules) -> None:
    font = cjk_font_file()
    assert font is not None, "no CJK font: install fonts-wqy-microhei (or set GRIDBOT_CJK_FONT)"
    assert chart_language("zh") == ("zh", font)
    texts = drawn_texts(_digest(rules), rules, "zh")
    chinese = [(text, file) for text, file in texts if _cjk(text)]
    names = {rules.area_name(g, "zh") for g in rules.grids}
    assert names <= {text for text, _ in chinese}, "bars are labelled with the grids' names"
    assert any("超期" in text for text, _ in chinese) and any("近30天" in text for text, _ in chinese)
    charmaps: dict[str, set[int]] = {}
    for text, file in chinese:
        charmap = charmaps.setdefault(file, set(FT2Font(file).get_charmap()))
        missing = [ch for ch in text if not ch.isspace() and ord(ch) not in charmap]
        assert not missing, f"{text!r} is drawn with {file}, which has no glyph for {missing} (a box)"
    assert {file for _, file in chinese} == {str(font)}


def test_an_english_chart_has_english_labels_and_names(rules: Rules) -> None:
    texts = [text for text, _ in drawn_texts(_digest(rules), rules, "en")]
    assert not any(_cjk(text) for text in texts)
    assert {rules.area_name(g, "en") for g in rules.grids} <= set(texts)
    assert "Last 30 days" in texts


def test_the_language_changes_the_png(rules: Rules) -> None:
    digest = _digest(rules)
    zh, en = render_digest_chart(digest, rules, "zh"), render_digest_chart(digest, rules, "en")
    assert zh.startswith(b"\x89PNG") and en.startswith(b"\x89PNG") and zh != en


def test_without_a_cjk_font_the_chart_falls_back_to_english(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             rules: Rules) -> None:
    monkeypatch.setenv("GRIDBOT_CJK_FONT", str(tmp_path / "missing.ttc"))
    assert chart_language("zh") == ("en", None)
    assert not any(_cjk(text) for text, _ in drawn_texts(_digest(rules), rules, "zh"))
