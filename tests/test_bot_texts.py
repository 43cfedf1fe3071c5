"""The message catalogue and the callback codec."""

from __future__ import annotations

import re

import pytest

from bot.callbacks import MAX_BYTES, CallbackCodec
from bot.texts import CATALOGUE, LANGS, normalise_lang, placeholders, t


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_text_exists_in_both_languages_with_the_same_fields(key: str) -> None:
    entry = CATALOGUE[key]
    assert set(entry) == set(LANGS), f"{key} must have exactly zh and en"
    assert all(entry[lang].strip() for lang in LANGS)
    assert placeholders(entry["zh"]) == placeholders(entry["en"]), key


def test_chinese_texts_are_chinese_and_english_texts_are_not() -> None:
    for key, entry in CATALOGUE.items():
        if key in {"ticket_line", "lang_pick"}:
            continue
        words = re.sub(r"\{\w*\}", "", entry["zh"])  # the fields' names are not words anyone reads
        has_cjk = any("\u4e00" <= ch <= "\u9fff" for ch in words)
        assert has_cjk or not any(ch.isalpha() for ch in words if ch.isascii()), key


def test_t_fills_values_and_falls_back_to_chinese() -> None:
    assert t("ticket_not_found", "en", number="#5") == "Ticket #5 was not found."
    assert t("ticket_not_found", "fr", number="#5") == "找不到工单 #5。"


@pytest.mark.parametrize(("code", "lang"), [("zh-hans", "zh"), ("zh-TW", "zh"), ("en", "en"), ("de", "en"),
                                             (None, "zh")])
def test_language_codes_map_to_our_languages(code: str | None, lang: str) -> None:
    assert normalise_lang(code) == lang


def test_callback_round_trip_and_size() -> None:
    codec = CallbackCodec(b"k" * 32)
    data = codec.encode("c", 123456789, "t12")
    assert len(data.encode()) <= MAX_BYTES
    decoded = codec.decode(data)
    assert decoded is not None
    assert decoded.action == "c"
    assert decoded.int_arg(0) == 123456789
    assert decoded.arg(1) == "t12"
    assert decoded.int_arg(5) is None


@pytest.mark.parametrize("forged", ["1:c:5:AAAAAAAA", "1:c:5", "", "c:5", "2:c:5:xxxxxxxx", "x" * 80])
def test_forged_or_malformed_callback_data_is_rejected(forged: str) -> None:
    assert CallbackCodec(b"secret").decode(forged) is None


def test_callback_signed_with_another_key_is_rejected() -> None:
    data = CallbackCodec(b"one").encode("c", 5)
    assert CallbackCodec(b"two").decode(data) is None


def test_tampered_argument_is_rejected() -> None:
    codec = CallbackCodec(b"secret")
    data = codec.encode("c", 5)
    tampered = data.replace(":5:", ":6:")
    assert codec.decode(tampered) is None


def test_oversized_callback_data_is_refused_at_encoding() -> None:
    with pytest.raises(ValueError, match="too long"):
        CallbackCodec(b"secret").encode("c", "9" * 60)
