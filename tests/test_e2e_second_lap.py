"""End to end: a handed-back ticket is announced again with a live Claim button; a cancelled ticket's
Claim buttons go away and a stale one answers that the ticket is cancelled."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import BotHarness

pytestmark = pytest.mark.e2e

RESIDENT, WANG, LI = 1001, 2001, 2002
GRID = "taizimiao-1"


async def test_after_a_hand_back_the_grids_workers_get_a_live_claim_button_again(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        h.staff(WANG, "王师傅", "worker", GRID)
        h.staff(LI, "李师傅", "worker", GRID)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋楼道灯坏了")
        await h.expect(RESIDENT, "已受理，工单号 #1")
        await h.click(WANG, WANG, "认领")
        await h.expect(LI, "#1 已由 王师傅 认领")
        assert not h.emu.find_button(LI, "认领"), "once claimed, no Claim button is live"
        await h.click(WANG, WANG, "退回")
        await h.expect(RESIDENT, "#1")
        await h.wait(lambda: h.emu.find_button(LI, "认领") and h.emu.find_button(WANG, "认领"))
        answer = await h.click(LI, LI, "认领")
        assert "慢了一步" not in answer
        assert h.ticket(1).claimed_by == h.person(LI).id  # type: ignore[union-attr]
        await h.expect(WANG, "#1 已由 李师傅 认领")
        await h.settle()
        assert not h.emu.find_button(WANG, "认领"), "the second lap's cards are edited when it is claimed again"
        assert [e.kind for e in h.events(1)].count("claim") == 2


async def test_a_cancelled_reports_claim_buttons_go_away_and_a_stale_one_says_cancelled(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        h.staff(WANG, "王师傅", "worker", GRID)
        h.staff(LI, "李师傅", "worker", GRID)
        h.resident(RESIDENT, "陈阿姨", lang="en")
        h.emu.send_text(RESIDENT, "The street light at Jin'e Estate building 5 is broken")
        await h.expect(RESIDENT, "Received: ticket #1")
        await h.wait(lambda: h.emu.find_button(WANG, "认领") and h.emu.find_button(LI, "认领"))
        card = h.emu.find_button(LI, "认领")
        assert card is not None and card.callback_data is not None
        h.emu.send_text(RESIDENT, "/cancel 1")
        await h.expect(RESIDENT, "#1")
        await h.expect(WANG, "#1 已撤销，无需处理")
        await h.expect(LI, "#1 已撤销，无需处理")
        assert not h.emu.find_button(WANG, "认领") and not h.emu.find_button(LI, "认领")
        # A press that was already on its way (the old card's data) is told the ticket is cancelled.
        stale = h.emu.press(LI, card.message_id, card.callback_data, chat=LI, forge=True)
        reply = await h.answered(stale)
        assert "已撤销" in reply and "认领" in reply
        assert "nobody" not in reply and "无人" not in reply
        assert h.ticket(1).status == "cancelled"


async def test_with_no_worker_the_leaders_claim_button_goes_away_when_the_resident_cancels(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        h.staff(3001, "张组长", "leader", "taizimiao")
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋楼道灯坏了")
        await h.wait(lambda: h.emu.find_button(3001, "认领"))
        h.emu.send_text(RESIDENT, "/cancel 1")
        await h.expect(3001, "#1 已撤销，无需处理")
        assert not h.emu.find_button(3001, "认领")
