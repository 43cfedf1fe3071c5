"""The console's catalogue: every text in Chinese and English, the same placeholders in both, and no English
word in a Chinese text (commands such as /console and format names such as CSV aside)."""

from __future__ import annotations

import re

from bot.texts import placeholders
from web.texts import CATALOGUE, event_label, wt


def test_every_text_in_both_languages_with_the_same_placeholders() -> None:
    for key, entry in CATALOGUE.items():
        assert set(entry) == {"zh", "en"} and all(entry.values()), key
        assert placeholders(entry["zh"]) == placeholders(entry["en"]), key


def test_no_english_word_in_chinese() -> None:
    for key, entry in CATALOGUE.items():
        if key == "w_lang_other":  # the language switch names the other language in that language
            continue
        text = re.sub(r"/[a-z_]+|\{[a-z_]+\}", "", entry["zh"])
        assert not re.search(r"[a-z]{2,}", text), (key, entry["zh"])


def test_lookup_falls_back_to_the_bot_catalogue_and_kinds() -> None:
    assert wt("status_open", "en") == "open" and wt("w_count", "zh", count=3) == "共 3 条"
    assert event_label("reassign", "zh") == "改派" and event_label("something_new", "zh") == "something_new"
