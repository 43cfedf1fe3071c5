"""End to end: the real bot over real HTTP against the Bot API emulator (no patched bot methods)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from cases.models import RoutingExample
from tests.harness import BotHarness

pytestmark = pytest.mark.e2e

RESIDENT, OTHER_RESIDENT = 1001, 1002
WANG, LI, ZHAO = 2001, 2002, 2003
LEADER, GAS = 3001, 3501
GRID = "taizimiao-1"
POINT = (29.3530, 113.1040)  # inside taizimiao-1


async def _staffed(h: BotHarness) -> None:
    h.staff(WANG, "王师傅", "worker", GRID)
    h.staff(LI, "李师傅", "worker", GRID)
    h.staff(ZHAO, "赵师傅", "worker", "taizimiao-2")
    h.staff(LEADER, "张组长", "leader", "taizimiao")
    h.staff(GAS, "燃气刘工", "worker", "team:gas-company")


async def test_report_locate_claim_race_resolve_confirm_rate(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "我家水管爆了，地板都是水！")
        await h.expect(RESIDENT, "还不知道地点")
        assert h.tickets()[0].status == "draft", "the report is kept while the bot asks where"
        h.emu.send_location(RESIDENT, *POINT)
        await h.expect(RESIDENT, "已受理，工单号 #1")
        await h.wait(lambda: h.emu.find_button(WANG, "认领") and h.emu.find_button(LI, "认领"))
        assert not h.emu.find_button(ZHAO, "认领"), "a worker of another grid is not told"

        # Two workers press Claim at the same instant: exactly one wins.
        queries = [h.emu.click(WANG, WANG, "认领"), h.emu.click(LI, LI, "认领")]
        answers = [await h.answered(q) for q in queries]
        ticket = h.ticket(1)
        assert ticket.status == "claimed"
        winner_id = h.person(WANG).id if ticket.claimed_by == h.person(WANG).id else h.person(LI).id  # type: ignore[union-attr]
        assert ticket.claimed_by == winner_id
        winner, loser = (WANG, LI) if ticket.claimed_by == h.person(WANG).id else (LI, WANG)  # type: ignore[union-attr]
        winner_name = "王师傅" if winner == WANG else "李师傅"
        loser_answer = answers[queries.index(queries[0] if loser == WANG else queries[1])]
        assert winner_name in loser_answer and "慢了一步" in loser_answer
        await h.expect(RESIDENT, f"已由网格员 {winner_name} 认领")
        await h.expect(loser, f"#1 已由 {winner_name} 认领")
        assert not h.emu.find_button(loser, "认领"), "the loser's Claim button is gone"
        claims = [e for e in h.events(1) if e.kind == "claim"]
        assert len(claims) == 1

        # The winner resolves with a note; the resident confirms and rates.
        await h.click(winner, winner, "处理完毕")
        await h.expect(winner, "处理说明")
        h.emu.send_text(winner, "已更换爆裂水管，地面已清理。")
        await h.expect(RESIDENT, "已处理完毕：已更换爆裂水管")
        await h.click(RESIDENT, RESIDENT, "已解决")
        await h.expect(RESIDENT, "请为本次服务打分")
        await h.click(RESIDENT, RESIDENT, "⭐⭐⭐⭐")
        await h.expect(RESIDENT, "感谢您的评价（4星）")
        await h.expect(winner, "居民已确认 #1")
        final = h.ticket(1)
        assert (final.status, final.rating, final.category, final.area) == ("closed", 4, "water", GRID)
        kinds = [e.kind for e in h.events(1)]
        assert kinds[:5] == ["drafted", "locate", "claim", "resolve", "confirm"]
        await h.settle()
        assert h.emu.duplicate_sends() == []
        assert h.emu.unanswered_callbacks() == []


async def test_english_report_with_a_place_name_is_dispatched_at_once(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "Ann", lang="en")
        h.emu.send_text(RESIDENT, "The street light outside Jin'e Estate building 5 has been broken for days")
        opened = await h.expect(RESIDENT, "Received: ticket #1")
        assert "Street" in (opened.text or "") or "light" in (opened.text or "").lower()
        ticket = h.ticket(1)
        assert (ticket.category, ticket.area, ticket.target) == ("streetlight", GRID, f"grid:{GRID}")
        assert "place" in str(ticket.explanation.get("explanation_text", "")).lower()
        await h.expect(WANG, "#1")


async def test_gas_emergency_gets_advice_and_goes_to_the_gas_team(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋楼道里好大的煤气味，是不是漏气了")
        advice = await h.expect(RESIDENT, "紧急提示")
        assert "96777" in (advice.text or "")
        await h.expect(RESIDENT, "燃气公司")
        ticket = h.ticket(1)
        assert (ticket.category, ticket.priority, ticket.target) == ("gas", "emergency", "team:gas-company")
        await h.expect(GAS, "#1")
        assert not h.emu.find_button(WANG, "认领"), "team tickets go to the team, not the grid"


async def test_unsupported_media_get_a_polite_answer_and_a_voice_note_is_kept(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_sticker(RESIDENT)
        await h.expect(RESIDENT, "看不懂贴纸")
        h.emu.send_contact(RESIDENT)
        await h.expect(RESIDENT, "看不懂联系人名片")
        h.emu.send_poll(RESIDENT)
        await h.expect(RESIDENT, "看不懂投票")
        h.emu.send_document(RESIDENT)
        await h.expect(RESIDENT, "看不懂文件")
        assert h.tickets() == [], "media that cannot be read open no ticket"
        h.emu.send_voice(RESIDENT)
        await h.expect(RESIDENT, "语音已保存在工单 #1")
        assert h.tickets()[0].voice_file_id


async def test_a_10000_character_report_is_stored_whole_and_shortened_in_notifications(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        text = "金鹗小区5栋的垃圾好几天没人收了。" + "臭" * (10_000 - 17)
        assert len(text) == 10_000
        h.emu.send_text(RESIDENT, text)
        await h.expect(RESIDENT, "已受理")
        card = await h.expect(WANG, "#1")
        assert len(h.ticket(1).text) == 10_000
        assert len(card.text or "") < 1000


async def test_forged_and_stale_buttons_are_refused_and_their_keyboards_removed(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋下水道堵了")
        await h.wait(lambda: h.emu.find_button(WANG, "认领"))
        button = h.emu.find_button(WANG, "认领")
        assert button is not None and button.callback_data
        # A forged button (callback data the bot never signed).
        forged = h.emu.press(WANG, button.message_id, "1:c:1:AAAAAAAA", chat=WANG, forge=True)
        assert "没有权限" in await h.answered(forged)
        # A resident replaying a worker's real Claim button: valid signature, wrong person.
        replay = h.emu.press(RESIDENT, h.bot_messages(RESIDENT)[-1].message_id, button.callback_data,
                             chat=RESIDENT, forge=True)
        assert "没有权限" in await h.answered(replay)
        assert h.ticket(1).status == "open"
        # The real claim by 李师傅, then 王师傅's old button again: stale, told who holds it.
        await h.click(LI, LI, "认领")
        stale = h.emu.press(WANG, button.message_id, button.callback_data, chat=WANG, forge=True)
        answer = await h.answered(stale)
        assert "已由 李师傅 认领" in answer
        assert h.ticket(1).claimed_by == h.person(LI).id  # type: ignore[union-attr]
        # A worker of another grid cannot claim it either.
        assert h.ticket(1).status == "claimed"


async def test_edited_report_amends_its_ticket_with_an_event(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        update = h.emu.send_text(RESIDENT, "金鹗小区5栋下水道堵了")
        await h.expect(RESIDENT, "已受理")
        message_id = update["message"]["message_id"]
        h.emu.edit_text(RESIDENT, message_id, "金鹗小区5栋下水道堵了，污水漫到楼道里了")
        await h.expect(RESIDENT, "描述已更新")
        assert h.ticket(1).text.endswith("污水漫到楼道里了")
        assert [e.kind for e in h.events(1)].count("edited") == 1
        assert len(h.tickets()) == 1


async def test_residents_see_only_their_own_tickets_and_cancel_only_unclaimed_ones(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.resident(OTHER_RESIDENT, "周先生")
        h.emu.send_text(RESIDENT, "金鹗小区5栋楼道灯坏了")
        await h.expect(RESIDENT, "已受理，工单号 #1")
        h.emu.send_text(OTHER_RESIDENT, "/ticket 1")
        await h.expect(OTHER_RESIDENT, "找不到工单 #1")
        h.emu.send_text(OTHER_RESIDENT, "/cancel 1")
        await h.expect(OTHER_RESIDENT, "找不到工单 #1")
        h.emu.send_text(RESIDENT, "/mine")
        await h.expect(RESIDENT, "#1 [待认领]")
        h.emu.send_text(RESIDENT, "金鹗小区12栋门口的树倒了")
        await h.expect(RESIDENT, "工单号 #2")
        await h.click(WANG, WANG, "认领", within="新工单 #1（")
        h.emu.send_text(RESIDENT, "/cancel 1")
        await h.expect(RESIDENT, "已有人认领，不能撤销")
        h.emu.send_text(RESIDENT, "/cancel 2")
        await h.expect(RESIDENT, "工单 #2 已撤销")
        assert [t.status for t in h.tickets()] == ["claimed", "cancelled"]


async def test_worker_notes_release_transfer_and_leader_reassign(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨", lang="en")
        h.emu.send_text(RESIDENT, "Garbage has piled up at Jin'e Estate for a week")
        await h.expect(RESIDENT, "Received: ticket #1")
        await h.click(WANG, WANG, "认领")
        await h.expect(RESIDENT, "claimed by grid worker 王师傅")
        # A public note reaches the resident; an internal one does not.
        await h.click(WANG, WANG, "告知居民")
        await h.expect(WANG, "请发送备注内容")
        h.emu.send_text(WANG, "明早八点清运车过来")
        await h.expect(RESIDENT, "Update on ticket #1: 明早八点清运车过来")
        await h.click(WANG, WANG, "内部备注")
        await h.expect(WANG, "请发送备注内容")
        h.emu.send_text(WANG, "物业不配合，需要街道协调")
        await h.expect(WANG, "备注已添加到 #1")
        await h.settle()
        assert not any("物业不配合" in t for t in h.texts(RESIDENT))
        # Hand back: the ticket is open again and the grid is told again.
        await h.click(WANG, WANG, "退回")
        await h.expect(RESIDENT, "went back to the queue")
        assert h.ticket(1).status == "open"
        # The leader reassigns it to 李师傅.
        h.emu.send_text(LEADER, "/ticket 1")
        await h.expect(LEADER, "处理记录")
        await h.click(LEADER, LEADER, "改派")
        await h.wait(lambda: h.emu.find_button(LEADER, "李师傅"))
        await h.click(LEADER, LEADER, "李师傅")
        await h.expect(LI, "#1 已由 张组长 指派给您")
        assert h.ticket(1).claimed_by == h.person(LI).id  # type: ignore[union-attr]
        # 李师傅 transfers it to the city-management team with a reason.
        await h.click(LI, LI, "转派")
        await h.wait(lambda: h.emu.find_button(LI, "城管执法中队"))
        await h.click(LI, LI, "城管执法中队")
        await h.expect(LI, "请说明转派原因")
        h.emu.send_text(LI, "是占道经营的摊贩留下的垃圾")
        await h.expect(LI, "已转派给 城管执法中队")
        ticket = h.ticket(1)
        assert (ticket.status, ticket.target) == ("open", "team:city-management")
        kinds = [e.kind for e in h.events(1)]
        for kind in ("note", "release", "reassign", "transfer"):
            assert kind in kinds


async def test_a_leader_merges_a_duplicate_and_its_reporter_follows_the_original(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.resident(OTHER_RESIDENT, "Mr Lee", lang="en")
        h.emu.send_text(RESIDENT, "金鹗小区5栋楼道灯坏了")
        await h.expect(RESIDENT, "工单号 #1")
        h.emu.send_text(OTHER_RESIDENT, "The stairwell light at Jin'e Estate building 5 is out")
        await h.expect(OTHER_RESIDENT, "ticket #2")
        await h.wait(lambda: h.emu.find_button(WANG, "认领", within="#2"))
        card = next(m.text for m in h.bot_messages(WANG) if "新工单 #2" in m.text)
        assert "可能与 #1 是同一问题（同网格同类别" in card, "the workers are told it may be a duplicate"
        assert not any("可能与" in m.text for m in h.bot_messages(WANG) if "新工单 #1" in m.text)
        # Only leaders and supervisors merge; bad input gets the usage; a missing ticket is named.
        h.emu.send_text(WANG, "/merge 2 1")
        await h.expect(WANG, "没有权限")
        h.emu.send_text(LEADER, "/merge 2")
        await h.expect(LEADER, "用法：/merge")
        h.emu.send_text(LEADER, "/merge 2 99")
        await h.expect(LEADER, "找不到工单 #99")
        h.emu.send_text(LEADER, "/merge #2 #1 同一盏灯")
        await h.expect(LEADER, "#2 已并入 #1")
        await h.expect(OTHER_RESIDENT, "Ticket #2 is the same problem as #1 and was merged")
        await h.wait(lambda: any("#2 已并入 #1，无需处理" in m.text for m in h.bot_messages(WANG)))
        assert not h.emu.find_button(WANG, "认领", within="#2"), "the duplicate's Claim button is gone"
        merged = h.ticket(2)
        assert (merged.status, merged.merged_into) == ("merged", 1)
        assert [e.kind for e in h.events(1)][-1] == "merged_in"
        # From now on the second reporter hears about #1 too, without the confirm buttons.
        await h.click(WANG, WANG, "认领", within="#1")
        await h.expect(RESIDENT, "已由网格员 王师傅 认领")
        await h.expect(OTHER_RESIDENT, "Ticket #1, the same problem as your #2, was claimed by grid worker 王师傅")
        await h.click(WANG, WANG, "处理完毕")
        await h.expect(WANG, "处理说明")
        h.emu.send_text(WANG, "已更换灯泡")
        await h.expect(RESIDENT, "已处理完毕：已更换灯泡")
        follow = await h.expect(OTHER_RESIDENT, "Ticket #1 (the same problem as your #2) has been resolved: 已更换灯泡")
        assert follow.buttons() == [] and h.emu.find_button(RESIDENT, "已解决")
        await h.settle()
        assert h.emu.duplicate_sends() == []


async def test_staff_find_reports_in_their_areas_by_words(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋楼道灯坏了")
        await h.expect(RESIDENT, "工单号 #1")
        h.emu.send_text(RESIDENT, "金鹗小区12栋门口垃圾满了")
        await h.expect(RESIDENT, "工单号 #2")
        h.emu.send_text(RESIDENT, "东方红小区3栋路面有个大坑")
        await h.expect(RESIDENT, "工单号 #3")
        h.emu.send_text(LEADER, "/find 金鹗小区")
        found = await h.expect(LEADER, "找到的工单（最新的在前）")
        assert found.text.index("#2") < found.text.index("#1") and "#3" not in found.text
        h.emu.send_text(LEADER, "/find 金鹗 垃圾")  # every word must be in the report

        def results() -> list[str]:
            return [m.text for m in h.bot_messages(LEADER) if m.text.startswith("找到的工单")]

        await h.wait(lambda: len(results()) == 2)
        assert "#2" in results()[1] and "#1" not in results()[1]
        h.emu.send_text(ZHAO, "/find 金鹗小区")  # a worker of another grid
        await h.expect(ZHAO, "您的辖区里没有提到“金鹗小区”的工单")
        h.emu.send_text(LEADER, "/find %")  # taken literally, not as a wildcard
        await h.expect(LEADER, "没有提到“%”")
        h.emu.send_text(RESIDENT, "/find 金鹗")
        await h.expect(RESIDENT, "没有权限")


async def test_inspector_and_out_of_scope_workers_change_nothing(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.staff(4001, "督察老吴", "inspector", "dongting")
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋下水道堵了")
        button = (await h.wait(lambda: h.emu.find_button(WANG, "认领")))
        h.emu.send_text(4001, "/ticket 1")
        await h.expect(4001, "处理记录")
        assert not h.emu.find_button(4001, "改派"), "an inspector gets no action buttons"
        refused = h.emu.press(4001, h.bot_messages(4001)[-1].message_id, button.callback_data, chat=4001, forge=True)
        assert "没有权限" in await h.answered(refused)
        assert h.ticket(1).status == "open"


async def test_flooding_resident_is_held_for_review_and_nothing_is_discarded(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        limit = h.rules.defaults.reports_per_hour  # type: ignore[union-attr]
        for n in range(limit + 1):
            h.emu.send_text(RESIDENT, f"金鹗小区5栋楼道灯坏了 第{n + 1}次")
        await h.expect(RESIDENT, "负责人审核")
        tickets = h.tickets()
        assert len(tickets) == limit + 1
        assert [t.held for t in tickets] == [False] * limit + [True]
        await h.expect(LEADER, "待您审核")
        h.emu.send_text(LEADER, f"/ticket {limit + 1}")
        await h.click(LEADER, LEADER, "派出")
        await h.expect(LEADER, f"#{limit + 1} 已派出")
        assert not h.ticket(limit + 1).held


async def test_language_switch_and_home_place(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "/start")
        await h.expect(RESIDENT, "您好，陈阿姨")
        h.emu.send_text(RESIDENT, "/lang")
        await h.answered(await h.wait(lambda: h.emu.find_button(RESIDENT, "English") and
                                      h.emu.click(RESIDENT, RESIDENT, "English")))
        await h.expect(RESIDENT, "Language set to English.")
        h.emu.send_text(RESIDENT, "/home")
        await h.expect(RESIDENT, "Pick the community you live in")
        h.emu.send_location(RESIDENT, *POINT)
        await h.expect(RESIDENT, "Your home place is remembered")
        assert h.person(RESIDENT).home_area == GRID  # type: ignore[union-attr]
        h.emu.send_text(RESIDENT, "The corridor smells of rubbish, nobody collects it")
        await h.expect(RESIDENT, "Received: ticket #1")
        assert h.ticket(1).area == GRID
        assert "home" in str(h.ticket(1).explanation.get("location_source"))


async def test_group_bound_to_a_grid_gets_new_tickets(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.emu.add_group(-100500, "太子庙一网格工作群")
        h.emu.send_text(LEADER, "/bind taizimiao-1", chat=-100500)
        await h.expect(-100500, "本群已绑定网格")
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋下水道堵了")
        await h.expect(-100500, "#1")
        await h.click(WANG, -100500, "认领")
        await h.expect(-100500, "#1 已由 王师傅 认领")
        assert h.ticket(1).status == "claimed"


async def test_unsure_category_offers_choices_and_the_resident_picks(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋这边有个情况想反映一下")  # says where, not what
        await h.expect(RESIDENT, "如果不对，请点选正确的类别")
        assert h.ticket(1).category == "other"
        pick = "garbage"
        await h.click(RESIDENT, RESIDENT, "垃圾清运")
        await h.expect(RESIDENT, "已改为")
        assert h.ticket(1).category == pick
        assert any(e.kind.startswith("recategori") for e in h.events(1))
        with Session(h.app.engine) as session:  # the pick is kept as a labelled example
            learned = session.exec(select(RoutingExample)).all()
        assert [(r.category, r.source, r.ticket_id) for r in learned] == [(pick, "resident", h.ticket(1).id)]


async def test_a_report_matching_no_category_goes_to_other_and_offers_categories(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区有点事想找人问问")
        await h.expect(RESIDENT, "已受理，工单号 #1")
        await h.expect(RESIDENT, "如果不对")
        assert h.ticket(1).category == "other"
        assert h.ticket(1).target == f"grid:{GRID}", "no keyword: the grid's general queue"


async def test_photo_report_photo_resolution_and_not_fixed_reopens(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_photo(RESIDENT, caption="金鹗小区5栋门口路面塌了一个大坑")
        await h.expect(RESIDENT, "已受理，工单号 #1")
        assert h.ticket(1).photo_file_id and h.ticket(1).category == "road"
        await h.click(WANG, WANG, "详情")
        await h.wait(lambda: any(e.method == "sendPhoto" and e.chat_id == WANG for e in h.emu.transcript))
        await h.click(WANG, WANG, "认领")
        await h.click(WANG, WANG, "处理完毕")
        await h.expect(WANG, "处理说明")
        h.emu.send_photo(WANG, caption="已回填压实")
        await h.expect(RESIDENT, "已处理完毕：已回填压实")
        assert any(e.method == "sendPhoto" and e.chat_id == RESIDENT for e in h.emu.transcript), "the fix is shown"
        assert h.ticket(1).status == "resolved"
        await h.click(RESIDENT, RESIDENT, "没解决")
        await h.expect(RESIDENT, "工单 #1 已重新打开")
        await h.expect(WANG, "问题没有解决，工单已重新打开")
        ticket = h.ticket(1)
        assert (ticket.status, ticket.reopen_count) == ("open", 1)
        await h.wait(lambda: sum("🔁 工单 #1 重新打开" in (m.text or "") for m in h.emu.all_messages(LI)) >= 1)


async def test_queue_my_and_overdue_lists(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋楼道灯坏了")
        h.emu.send_text(RESIDENT, "金鹗小区12栋下水道堵了")
        await h.expect(RESIDENT, "工单号 #2")
        h.emu.send_text(WANG, "/queue")
        await h.expect(WANG, "待认领工单")
        assert any("#1" in t and "#2" in t for t in h.texts(WANG))
        await h.click(WANG, WANG, "认领")
        h.emu.send_text(WANG, "/my")
        await h.expect(WANG, "我负责的工单")
        h.emu.send_text(LEADER, "/overdue")
        await h.expect(LEADER, "辖区内没有超时工单")


async def test_a_resident_who_blocked_the_bot_is_flagged_for_staff(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋楼道灯坏了")
        await h.expect(RESIDENT, "已受理")
        h.emu.block_user(RESIDENT)
        await h.click(WANG, WANG, "认领")
        await h.wait(lambda: h.person(RESIDENT).unreachable)  # type: ignore[union-attr]
        h.emu.send_text(LEADER, "/ticket 1")
        card = await h.expect(LEADER, "处理记录")
        assert "已屏蔽机器人" in (card.text or "")


async def test_answering_where_with_a_place_name_places_the_draft(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "楼道灯坏了，黑漆漆的")
        await h.expect(RESIDENT, "还不知道地点")
        h.emu.send_text(RESIDENT, "金鹗小区12栋")
        await h.expect(RESIDENT, "已受理，工单号 #1")
        assert len(h.tickets()) == 1, "the answer is not a second report"
        ticket = h.ticket(1)
        assert (ticket.status, ticket.area, ticket.category) == ("open", GRID, "streetlight")
        await h.expect(WANG, "#1")


async def test_picking_community_then_grid_places_the_draft(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "楼道里的灯全坏了")
        await h.click(RESIDENT, RESIDENT, "太子庙社区")
        await h.click(RESIDENT, RESIDENT, "太子庙社区第二网格")
        await h.expect(RESIDENT, "已受理，工单号 #1")
        assert h.ticket(1).area == "taizimiao-2"
        await h.expect(ZHAO, "#1")
