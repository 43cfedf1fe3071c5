"""The digest's PNG chart: overdue tickets by grid (bars) and the 30-day trend (lines).

matplotlib is imported lazily with the Agg backend, so importing this module costs nothing and no
display is needed. Labels use area ids and English words (no CJK font is assumed on the server).
"""

from __future__ import annotations

import io
from typing import Any

from cases.digest import Digest

MAX_BARS = 30
_COLOURS = {"red": "#d62728", "amber": "#ff9f1c", "green": "#2ca02c"}


def render_digest_chart(digest: Digest, *, max_bars: int = MAX_BARS) -> bytes:
    """A PNG with overdue tickets per grid (the ``max_bars`` worst grids) and the 30-day trend."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 7), dpi=100)
    bars, trend = figure.subplots(2, 1)
    _bars(bars, digest, max_bars)
    _trend(trend, digest)
    figure.suptitle(f"{digest.area} - {digest.day.isoformat()}: {digest.overdue} overdue, {digest.open} open")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _bars(axes: Any, digest: Digest, max_bars: int) -> None:
    rows = sorted(digest.grids, key=lambda r: (-r.overdue, r.grid))[:max_bars]
    positions = range(len(rows))
    axes.bar(list(positions), [r.overdue for r in rows], color=[_COLOURS[r.status] for r in rows])
    axes.set_xticks(list(positions))
    axes.set_xticklabels([r.grid for r in rows], rotation=60, ha="right", fontsize=7)
    shown = "" if len(digest.grids) <= max_bars else f" (worst {max_bars} of {len(digest.grids)})"
    axes.set_title(f"Overdue tickets by grid{shown}")
    axes.set_ylabel("overdue")
    _whole_numbers(axes)


def _trend(axes: Any, digest: Digest) -> None:
    days = [p.day.strftime("%m-%d") for p in digest.trend]
    for name, values in (
        ("new", [p.new for p in digest.trend]),
        ("closed", [p.closed for p in digest.trend]),
        ("overdue at day end", [p.overdue for p in digest.trend]),
    ):
        axes.plot(days, values, marker="o", markersize=3, label=name)
    axes.set_xticks(days[::3])
    axes.tick_params(axis="x", labelsize=7)
    axes.set_title("Last 30 days")
    axes.legend(loc="upper left", fontsize=8)
    _whole_numbers(axes)


def _whole_numbers(axes: Any) -> None:
    """Counts are whole: no 0.5 ticks on the y axis."""
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
