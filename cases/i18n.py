"""The one way a text is taken from a catalogue, for every adapter (bot, CLI) and for the texts ``cases/``
writes itself: ``{key: {"zh": …, "en": …}}``, filled with ``str.format`` values. Chinese is the fallback."""

from __future__ import annotations

from collections.abc import Mapping

LANGS = ("zh", "en")


def lookup(catalogue: Mapping[str, Mapping[str, str]], key: str, lang: str, **values: object) -> str:
    """The text for ``key`` in ``lang`` (Chinese when the language is unknown), filled with ``values``."""
    entry = catalogue[key]
    template = entry.get(lang) or entry["zh"]
    return template.format(**values) if values else template


def lang_of_locale(environ: Mapping[str, str]) -> str:
    """The language a locale asks for: ``zh`` when ``LC_ALL``/``LC_MESSAGES``/``LANG`` (the first set) starts
    with ``zh``, else ``en``."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"
