"""End to end: one resident's flood (60 reports in a minute) is held, and each leader is told once per hold,
in one message that carries the count; nothing is discarded and a leader can still dispatch each report."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import BotHarness

pytestmark = pytest.mark.e2e

RESIDENT, WORKER, LEADER, COMMUNITY_LEADER = 1001, 2001, 3001, 3002
GRID = "taizimiao-1"


async def test_sixty_reports_in_a_minute_tell_each_leader_once_with_the_count(tmp_path: Path) -> None:
    async with BotHarness(tmp_path, private_per_second=200.0) as h:
        h.staff(WORKER, "王师傅", "worker", GRID)
        h.staff(LEADER, "张组长", "leader", GRID)
        h.staff(COMMUNITY_LEADER, "郑书记", "leader", "taizimiao")
        h.resident(RESIDENT, "刷屏的人")
        limit = h.rules.defaults.reports_per_hour  # type: ignore[union-attr]
        for n in range(60):
            h.emu.send_text(RESIDENT, f"金鹗小区5栋楼道灯坏了 第{n + 1}次")
        await h.wait(lambda: len(h.tickets()) == 60, timeout=60)
        held = 60 - limit
        await h.wait(lambda: all(any(f"已暂扣 {held} 张工单" in t for t in h.texts(chat))
                                 for chat in (LEADER, COMMUNITY_LEADER)), timeout=60)
        await h.settle()
        for chat in (LEADER, COMMUNITY_LEADER):
            about_holds = [t for t in h.texts(chat) if "报事过多" in t]
            assert len(about_holds) == 1, f"one message per hold, not one per held report: {len(about_holds)}"
            assert f"#{limit + 1}" in about_holds[0] and "最新一条 #60" in about_holds[0]
        assert [t.held for t in h.tickets()] == [False] * limit + [True] * held
        # Each held report can still be reviewed and dispatched.
        h.emu.send_text(LEADER, f"/ticket {limit + 1}")
        await h.click(LEADER, LEADER, "派出")
        await h.expect(LEADER, f"#{limit + 1} 已派出")
        assert not h.ticket(limit + 1).held
