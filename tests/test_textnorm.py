"""Normalisation for matching: width, case, traditional characters, separators, pinyin keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases.textnorm import (
    cjk_runs,
    has_cjk,
    normalize,
    normalize_mapped,
    pinyin_key,
    pinyin_syllables,
    to_simplified,
    words,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＧＡＳ　ＬＥＡＫ", "gas leak"),  # full-width letters and space
        ("Burst   PIPE!!", "burst pipe"),
        ("樓道燈壞了", "楼道灯坏了"),
        ("雲夢花園，停電了！", "云梦花园 停电了"),
        ("  水管😀爆了\n\t", "水管 爆了"),
        ("Straße", "strasse"),  # casefold, not just lower
        ("a_b-c.d", "a b c d"),
        ("\x00\x07", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_is_cached() -> None:
    normalize.cache_clear()
    normalize("垃圾桶")
    normalize("垃圾桶")
    assert normalize.cache_info().hits == 1


def test_mapped_positions_point_back_to_the_original() -> None:
    text = normalize_mapped("ＡＢ  樓道燈，壞了!!")
    assert text.text == "ab 楼道灯 坏了"
    assert text.folded == "ab 樓道燈 壞了"
    start = text.text.index("楼道灯")
    assert text.source(start, start + 3) == "樓道燈"
    assert text.span(start, start + 3) == (4, 7)


def test_mapped_handles_expanding_characters() -> None:
    text = normalize_mapped("ß水管")  # ß folds to two characters
    assert text.text == "ss水管"
    assert text.source(2, 4) == "水管"
    assert text.source(0, 2) == "ß"


def test_pinyin_homophones_share_a_key() -> None:
    assert pinyin_key("水管暴了") == pinyin_key("水管爆了") == "shui guan bao le"
    assert pinyin_key("拉圾") == pinyin_key("垃圾")
    assert pinyin_key("路登") == pinyin_key("路灯")
    # Toneless keys collide for unrelated words too; the matcher therefore also requires a shared character.
    assert pinyin_key("大家") == pinyin_key("打架") == "da jia"
    assert pinyin_key("垃圾 bin") == "la ji bin"


def test_pinyin_syllables_one_per_character() -> None:
    assert pinyin_syllables("拉圾桶") == ("la", "ji", "tong")
    assert pinyin_syllables("a水") == ("a", "shui")


def test_script_helpers() -> None:
    assert has_cjk("abc水") and not has_cjk("abc")
    assert cjk_runs("ab水管cd垃圾") == [(2, "水管"), (6, "垃圾")]
    assert words("burst pipe 5栋x") == [(0, 5, "burst"), (6, 10, "pipe"), (11, 12, "5"), (13, 14, "x")]
    assert to_simplified("頭髮") == "头发"


@given(st.text(max_size=300))
def test_mapped_offsets_are_consistent(raw: str) -> None:
    text = normalize_mapped(raw)
    assert len(text.text) == len(text.folded) == len(text.offsets)
    assert list(text.offsets) == sorted(text.offsets)
    assert all(0 <= offset < len(raw) for offset in text.offsets)
    assert text.text == normalize(raw)
    assert "  " not in text.text and text.text == text.text.strip()
