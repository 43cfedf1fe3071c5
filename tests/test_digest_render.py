"""Digest text (zh/en, clean splitting, all-clear) and the PNG chart."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Engine
from test_digest import DAY, build, digest_engine  # noqa: F401 - fixture
from test_sweep import RULES

from cases.digest import Digest, GridRow, OverdueTicket
from cases.digest_chart import render_digest_chart
from cases.digest_render import CHUNK_LIMIT, digest_lines, render_digest_text, split_lines


def test_text_in_both_languages(digest_engine: Engine) -> None:  # noqa: F811
    d = build(digest_engine)
    [zh] = render_digest_text(d, RULES, "zh")
    assert zh.splitlines()[0] == "📋 d 超期日报 · 2025-03-05 🔴"
    assert "新增 3 · 结案 2 · 在办 4 · 超期 2" in zh
    assert "按期结案率：近7天 50.0% (1/2) · 近30天 66.7% (2/3)" in zh
    assert "认领用时中位数 1小时30分钟" in zh and "处理用时中位数 1天1小时" in zh  # minutes, not points (分)
    assert "· 历时 " in zh and "· 已 " not in zh
    lines = zh.splitlines()
    first_ticket = next(i for i, line in enumerate(lines) if line.startswith("#2 "))
    assert lines[first_ticket + 1].startswith("#6 ")  # oldest first
    assert "处理人 worker · 级别 2" in lines[first_ticket]
    [en] = render_digest_text(d, RULES, "en")
    assert "New 3 · closed 2 · open 4 · overdue 2" in en
    assert "🔴 g1: open 2 · overdue 1 · top level 2 · 30-day on-time —" in en
    assert "🟡 g3" in en


def test_all_clear_is_one_line_plus_figures(digest_engine: Engine) -> None:  # noqa: F811
    d = build(digest_engine, "g2")
    [text] = render_digest_text(d, RULES, "en")
    lines = text.splitlines()
    assert lines[0] == "✅ g2: nothing overdue on 2025-03-05."
    assert len(lines) == 4 and lines[1].startswith("New 0 · closed 2")
    assert render_digest_text(d, RULES, "zh")[0].startswith("✅ g2：2025-03-05 无超期工单。")


def _big_digest() -> Digest:
    tickets = [OverdueTicket(id=i, number=f"#{i}", category="other", area="g1", target="grid:g1", status="claimed",
                             holder_id=1, holder_name=f"worker {i}", level=i % 4, age_seconds=90000 + i,
                             overdue_seconds=3600 + i) for i in range(400)]
    grids = [GridRow(grid=f"g{i}", open=3, overdue=1, max_level=1, status="amber") for i in range(150)]
    return Digest(area="d", kind="district", day=DAY, generated_at=datetime(2025, 3, 6, tzinfo=UTC), open=2000,
                  overdue=1000, grids=grids, overdue_tickets=tickets, status="amber")


def test_long_digest_splits_at_line_boundaries() -> None:
    digest = _big_digest()
    chunks = render_digest_text(digest, RULES, "zh")
    assert len(chunks) > 3
    assert all(len(chunk) <= CHUNK_LIMIT for chunk in chunks)
    expected = [line for line in digest_lines(digest, RULES, "zh") if line]
    assert [line for chunk in chunks for line in chunk.splitlines() if line] == expected
    assert "……另有 600 件未列出" in chunks[-1]


def test_split_lines_edge_cases() -> None:
    assert split_lines(["a" * 10, "b" * 10], limit=21) == ["a" * 10 + "\n" + "b" * 10]
    assert split_lines(["a" * 10, "b" * 10], limit=20) == ["a" * 10, "b" * 10]
    assert split_lines(["x" * 25], limit=10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_lines([]) == []


def test_chart_is_a_png(digest_engine: Engine) -> None:  # noqa: F811
    for digest in (build(digest_engine), replace(_big_digest(), trend=build(digest_engine).trend)):
        png = render_digest_chart(digest, RULES, "zh")
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])
        assert (width, height) == (1000, 700)
        assert png.endswith(b"IEND\xaeB`\x82")
