"""A digest as chat messages in Chinese or English, split cleanly at line boundaries."""

from __future__ import annotations

from datetime import timedelta

from cases.digest import Digest, GridRow, OverdueTicket
from cases.durations import format_duration
from cases.rules.schema import Rules

CHUNK_LIMIT = 4000
STATUS_MARK = {"red": "🔴", "amber": "🟡", "green": "🟢"}

_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "📋 {area} 超期日报 · {day}",
        "all_clear": "✅ {area}：{day} 无超期工单。",
        "counts": "新增 {new} · 结案 {closed} · 在办 {open} · 超期 {overdue}",
        "rates": "按期结案率：近7天 {r7} · 近30天 {r30}",
        "more": "返工率（30天）{rework} · 认领用时中位数 {claim} · 处理用时中位数 {resolve}（近7天）",
        "grids": "网格状态（🔴 红 / 🟡 黄 / 🟢 绿）：",
        "grid": "{mark} {name}：在办 {open} · 超期 {overdue} · 最高级别 {level} · 30天按期率 {rate}",
        "greens": "🟢 其余 {count} 个网格正常",
        "overdue": "超期工单（最早的在前）：",
        "ticket": "{number} {category} · {area} · 历时 {age} · 超期 {late} · 处理人 {holder} · 级别 {level}",
        "unclaimed": "无人认领",
        "unlisted": "……另有 {count} 件未列出",
        "none": "—",
        "holidays": "⚠️ 规则文件尚未列出 {year} 年的法定节假日，按工作日计算的时限会把节假日算作工作日。"
                    "请按国务院放假通知补充 working_hours.holidays。",
    },
    "en": {
        "title": "📋 {area} overdue digest · {day}",
        "all_clear": "✅ {area}: nothing overdue on {day}.",
        "counts": "New {new} · closed {closed} · open {open} · overdue {overdue}",
        "rates": "On-time closure rate: 7 days {r7} · 30 days {r30}",
        "more": "Rework rate (30 days) {rework} · median time to claim {claim} · to resolve {resolve} (7 days)",
        "grids": "Grids (🔴 red / 🟡 amber / 🟢 green):",
        "grid": "{mark} {name}: open {open} · overdue {overdue} · top level {level} · 30-day on-time {rate}",
        "greens": "🟢 {count} other grids are green",
        "overdue": "Overdue tickets, oldest first:",
        "ticket": "{number} {category} · {area} · age {age} · overdue {late} · held by {holder} · level {level}",
        "unclaimed": "unclaimed",
        "unlisted": "... and {count} more not listed",
        "none": "—",
        "holidays": "⚠️ The rules file lists no public holidays for {year} yet, so limits in working days count "
                    "them as working days. Add them to working_hours.holidays from the State Council's notice.",
    },
}


def _pct(value: float | None, part: int, whole: int, t: dict[str, str]) -> str:
    return t["none"] if value is None else f"{value * 100:.1f}% ({part}/{whole})"


def _duration(seconds: float | None, t: dict[str, str], lang: str) -> str:
    if seconds is None:
        return t["none"]
    return format_duration(timedelta(seconds=seconds), lang, smallest="m")


def _grid_line(row: GridRow, rules: Rules, lang: str, t: dict[str, str]) -> str:
    rate = t["none"] if row.on_time_rate_30d is None else f"{row.on_time_rate_30d * 100:.0f}%"
    return t["grid"].format(mark=STATUS_MARK[row.status], name=rules.area_name(row.grid, lang), open=row.open,
                            overdue=row.overdue, level=row.max_level, rate=rate)


def _ticket_line(ticket: OverdueTicket, rules: Rules, lang: str, t: dict[str, str]) -> str:
    return t["ticket"].format(
        number=ticket.number, category=rules.category_name(ticket.category, lang),
        area=rules.area_name(ticket.area, lang) if ticket.area else rules.target_name(ticket.target, lang),
        age=_duration(ticket.age_seconds, t, lang), late=_duration(ticket.overdue_seconds, t, lang),
        holder=ticket.holder_name or t["unclaimed"], level=ticket.level,
    )


def digest_lines(digest: Digest, rules: Rules, lang: str = "zh") -> list[str]:
    """The digest as lines of text (no splitting)."""
    lang = "en" if lang == "en" else "zh"
    t = _TEXT[lang]
    area = rules.area_name(digest.area, lang)
    day = digest.day.isoformat()
    figures = [
        t["counts"].format(new=digest.new, closed=digest.closed, open=digest.open, overdue=digest.overdue),
        t["rates"].format(r7=_pct(digest.on_time_rate_7d, digest.on_time_7d, digest.closed_7d, t),
                          r30=_pct(digest.on_time_rate_30d, digest.on_time_30d, digest.closed_30d, t)),
        t["more"].format(rework=_pct(digest.rework_rate_30d, digest.reworked_30d, digest.closed_30d, t),
                         claim=_duration(digest.median_claim_seconds, t, lang),
                         resolve=_duration(digest.median_resolve_seconds, t, lang)),
    ]
    notes = [t["holidays"].format(year=year) for year in digest.holidays_missing]
    if digest.all_clear:
        return [t["all_clear"].format(area=area, day=day), *figures, *notes]
    lines = [f"{t['title'].format(area=area, day=day)} {STATUS_MARK[digest.status]}", *figures, "", t["grids"]]
    worst_first = sorted(digest.grids, key=lambda r: (("red", "amber", "green").index(r.status), -r.overdue))
    shown = [row for row in worst_first if row.status != "green"]
    lines += [_grid_line(row, rules, lang, t) for row in shown]
    if len(shown) < len(digest.grids):
        lines.append(t["greens"].format(count=len(digest.grids) - len(shown)))
    lines += ["", t["overdue"]]
    lines += [_ticket_line(ticket, rules, lang, t) for ticket in digest.overdue_tickets]
    if digest.overdue > len(digest.overdue_tickets):
        lines.append(t["unlisted"].format(count=digest.overdue - len(digest.overdue_tickets)))
    return [*lines, *(["", *notes] if notes else [])]


def split_lines(lines: list[str], limit: int = CHUNK_LIMIT) -> list[str]:
    """Pack lines into messages of at most ``limit`` characters, breaking only between lines
    (a single line longer than ``limit`` is cut into pieces)."""
    pieces = [line[i:i + limit] for line in lines for i in range(0, max(len(line), 1), limit)]
    chunks: list[list[str]] = [[]]
    size = 0
    for piece in pieces:
        extra = len(piece) + (1 if chunks[-1] else 0)
        if chunks[-1] and size + extra > limit:
            chunks.append([])
            extra = len(piece)
            size = 0
        chunks[-1].append(piece)
        size += extra
    texts = ["\n".join(chunk).strip("\n") for chunk in chunks]
    return [text for text in texts if text.strip()]


def render_digest_text(digest: Digest, rules: Rules, lang: str = "zh") -> list[str]:
    """The digest as chat messages (each at most 4000 characters), in ``lang`` ('zh' or 'en')."""
    return split_lines(digest_lines(digest, rules, lang))
