"""The digest's PNG chart: overdue tickets by grid (bars) and the 30-day trend (lines), in the reader's
language with area names.

Chinese needs a CJK font: matplotlib is given the font *file* (never left to guess a family, which falls
back to DejaVu Sans and draws every Chinese character as a box). The file is ``GRIDBOT_CJK_FONT`` when set,
else the first of :data:`CJK_FONT_FILES` that exists (the Debian package ``fonts-wqy-microhei`` provides
the first). Without one, a Chinese chart is drawn in English rather than in boxes, and a warning is logged.
matplotlib is imported lazily with the Agg backend, so importing this module costs nothing.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cases.digest import Digest
from cases.rules.schema import Rules

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

MAX_BARS = 30
_COLOURS = {"red": "#d62728", "amber": "#ff9f1c", "green": "#2ca02c"}
CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian/Ubuntu fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
    "/System/Library/Fonts/PingFang.ttc",  # macOS
    "C:/Windows/Fonts/msyh.ttc",  # Windows
)
"""Where a CJK font file usually is, in the order tried."""

_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "{area} · {day}：超期 {overdue} · 在办 {open}",
        "bars": "各网格超期工单{shown}",
        "shown": "（最差的 {max} 个，共 {total} 个）",
        "ylabel": "超期",
        "trend": "近30天",
        "new": "新增",
        "closed": "结案",
        "overdue": "日终超期",
    },
    "en": {
        "title": "{area} · {day}: {overdue} overdue, {open} open",
        "bars": "Overdue tickets by grid{shown}",
        "shown": " (worst {max} of {total})",
        "ylabel": "overdue",
        "trend": "Last 30 days",
        "new": "new",
        "closed": "closed",
        "overdue": "overdue at day end",
    },
}


def cjk_font_file() -> Path | None:
    """The CJK font file charts use: ``GRIDBOT_CJK_FONT``, else the first of :data:`CJK_FONT_FILES` found."""
    wanted = os.environ.get("GRIDBOT_CJK_FONT")
    candidates = [wanted] if wanted else list(CJK_FONT_FILES)
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


@cache
def _family(font_file: Path) -> str:
    """Register ``font_file`` with matplotlib and return its family name."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(font_file))
    return str(font_manager.FontProperties(fname=str(font_file)).get_name())


def chart_language(lang: str) -> tuple[str, Path | None]:
    """The language a chart is drawn in and the font file for it: Chinese only with a CJK font."""
    if lang != "zh":
        return "en", None
    font = cjk_font_file()
    if font is None:
        log.warning("no CJK font found (install fonts-wqy-microhei or set GRIDBOT_CJK_FONT): the digest chart "
                    "is drawn in English")
        return "en", None
    return "zh", font


def _figure(digest: Digest, rules: Rules, lang: str, max_bars: int) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 7), dpi=100)
    text = _TEXT[lang]
    bars, trend = figure.subplots(2, 1)
    _bars(bars, digest, rules, lang, text, max_bars)
    _trend(trend, digest, text)
    figure.suptitle(text["title"].format(area=rules.area_name(digest.area, lang), day=digest.day.isoformat(),
                                         overdue=digest.overdue, open=digest.open))
    figure.tight_layout()
    return figure


@contextmanager
def _drawing(digest: Digest, rules: Rules, lang: str, max_bars: int) -> Iterator[Figure]:
    """The chart's figure, built and drawn with the fonts of its language (tick labels are made while drawing,
    so the fonts must stay set until the PNG is written)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    lang, font = chart_language(lang)
    families = [_family(font), "DejaVu Sans"] if font is not None else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": families, "axes.unicode_minus": False}):
        yield _figure(digest, rules, lang, max_bars)


def render_digest_chart(digest: Digest, rules: Rules, lang: str = "zh", *, max_bars: int = MAX_BARS) -> bytes:
    """A PNG with overdue tickets per grid (the ``max_bars`` worst grids, by name) and the 30-day trend,
    labelled in ``lang``."""
    buffer = io.BytesIO()
    with _drawing(digest, rules, lang, max_bars) as figure:
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


def drawn_texts(digest: Digest, rules: Rules, lang: str = "zh", *, max_bars: int = MAX_BARS) -> list[tuple[str, str]]:
    """Every text the chart draws, with the font file matplotlib drew it in (to check no glyph is missing)."""
    from matplotlib import font_manager
    from matplotlib.text import Text

    with _drawing(digest, rules, lang, max_bars) as figure:
        figure.canvas.draw()
        return [(t.get_text(), str(font_manager.findfont(t.get_fontproperties(), fallback_to_default=False)))
                for t in figure.findobj(Text) if t.get_visible() and t.get_text()]


def _bars(axes: Any, digest: Digest, rules: Rules, lang: str, text: dict[str, str], max_bars: int) -> None:
    rows = sorted(digest.grids, key=lambda r: (-r.overdue, r.grid))[:max_bars]
    positions = range(len(rows))
    axes.bar(list(positions), [r.overdue for r in rows], color=[_COLOURS[r.status] for r in rows])
    axes.set_xticks(list(positions))
    axes.set_xticklabels([rules.area_name(r.grid, lang) for r in rows], rotation=60, ha="right", fontsize=7)
    shown = "" if len(digest.grids) <= max_bars else text["shown"].format(max=max_bars, total=len(digest.grids))
    axes.set_title(text["bars"].format(shown=shown))
    axes.set_ylabel(text["ylabel"])
    _whole_numbers(axes)


def _trend(axes: Any, digest: Digest, text: dict[str, str]) -> None:
    days = [p.day.strftime("%m-%d") for p in digest.trend]
    for key, values in (
        ("new", [p.new for p in digest.trend]),
        ("closed", [p.closed for p in digest.trend]),
        ("overdue", [p.overdue for p in digest.trend]),
    ):
        axes.plot(days, values, marker="o", markersize=3, label=text[key])
    axes.set_xticks(days[::3])
    axes.tick_params(axis="x", labelsize=7)
    axes.set_title(text["trend"])
    axes.legend(loc="upper left", fontsize=8)
    _whole_numbers(axes)


def _whole_numbers(axes: Any) -> None:
    """Counts are whole: no 0.5 ticks on the y axis."""
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
