"""End to end, the words people read: the place on a worker's card and as a venue pin, the location prompt
naming its own buttons, /skip without "fixed: -", a reopened ticket announced as reopened, and the category
picker offering every category with its emergency advice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import BotHarness

pytestmark = pytest.mark.e2e

RESIDENT, WANG, GAS = 1001, 2001, 3501
GRID = "taizimiao-1"
POINT = (29.3530, 113.1040)  # inside taizimiao-1


async def test_place_venue_skip_and_reopen(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        h.staff(WANG, "王师傅", "worker", GRID)
        h.staff(GAS, "燃气刘工", "worker", "team:gas-company")
        h.resident(RESIDENT, "陈阿姨")
        # A recognised place name is on the card (it used to say "地点：-").
        h.emu.send_text(RESIDENT, "金鹗小区5栋楼道灯坏了")
        card = await h.expect(WANG, "🆕 新工单 #1")
        assert "地点：金鹗小区5栋" in card.text and "地点：-" not in card.text
        assert not any("venue" in m.media for m in h.bot_messages(WANG)), "no point, no pin"

        # Without a place: the prompt names exactly the buttons it carries.
        h.emu.send_text(RESIDENT, "我家水管爆了，地板都是水！")
        prompt = await h.expect(RESIDENT, "还不知道地点")
        assert "共享位置" not in prompt.text and "选择所在社区" in prompt.text
        assert prompt.buttons() and all("共享" not in b.text for b in prompt.buttons())
        share = await h.expect(RESIDENT, "直接共享位置")
        assert "“📍 共享我的位置”" in share.text
        keyboard = share.reply_markup or {}
        assert keyboard["keyboard"][0][0]["text"] == "📍 共享我的位置"

        # A shared point: the card shows it and a venue pin follows, titled with the grid, for navigation.
        h.emu.send_location(RESIDENT, *POINT)
        card2 = await h.expect(WANG, "🆕 新工单 #2")
        assert f"{POINT[0]:.5f}, {POINT[1]:.5f}" in card2.text

        def venue() -> dict[str, object] | None:
            return next((m.media["venue"] for m in h.bot_messages(WANG) if "venue" in m.media), None)

        pin = await h.wait(venue)
        assert pin["location"] == {"latitude": POINT[0], "longitude": POINT[1]}
        assert pin["title"] == h.rules.area_name(GRID, "zh")  # type: ignore[union-attr]
        assert "太子庙" in str(pin["address"]) and "None" not in str(pin["address"])

        # /skip resolves without a note: the resident is not told "fixed: -".
        await h.click(WANG, WANG, "认领", within="#2")
        await h.click(WANG, WANG, "处理完毕")
        await h.expect(WANG, "处理说明")
        h.emu.send_text(WANG, "/skip")
        fixed = await h.expect(RESIDENT, "工单 #2 已处理完毕")
        assert "：-" not in fixed.text and ": -" not in fixed.text

        # Not fixed: the workers hear the ticket is reopened and why, not "new ticket".
        await h.click(RESIDENT, RESIDENT, "没解决", within="#2 已处理完毕")
        reopened = await h.expect(WANG, "🔁 工单 #2 重新打开")
        assert "居民反馈问题没有解决" in reopened.text and "🆕" not in reopened.text
        history = [e for e in h.events(2) if e.kind == "reopen"]
        assert history and history[0].note is None, "no English note stored for Chinese staff to read"

        # Transferred: the new team's card says so, who did it and why, not "new ticket" either.
        # (A handed-back ticket's card is worded the same way; that its workers get it again at all depends on
        # the dispatch dedupe key, which the outbox work changes.)
        await h.click(WANG, WANG, "认领", within="🔁 工单 #2")
        await h.click(WANG, WANG, "转派", within="您已认领 #2")
        await h.click(WANG, WANG, "燃气公司抢修联络组")
        await h.expect(WANG, "请说明转派原因")
        h.emu.send_text(WANG, "闻到燃气味，需要燃气公司")
        moved = await h.expect(GAS, "🔀 工单 #2（紧急）由 王师傅 转派而来，原因：闻到燃气味，需要燃气公司")
        assert "🆕" not in moved.text


async def test_the_category_picker_offers_every_category_and_sends_its_advice(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        h.staff(WANG, "王师傅", "worker", GRID)
        h.staff(GAS, "燃气刘工", "worker", "team:gas-company")
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋有点事情想反映")
        picker = await h.expect(RESIDENT, "如果不对，请点选正确的类别")
        rules = h.rules
        assert rules is not None
        offered = {b.text for b in picker.buttons()}
        assert offered == {rules.category_name(c, "zh") for c in rules.categories if c != "other"}
        assert len(offered) == 13
        await h.click(RESIDENT, RESIDENT, "燃气泄漏")
        await h.expect(RESIDENT, "已改为“燃气泄漏”")
        advice = await h.expect(RESIDENT, "⚠️ 紧急提示")
        assert "燃气阀门" in advice.text
