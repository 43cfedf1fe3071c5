"""The combined router in the running bot: English gas smell to the gas company with advice, an emergency
judged by its danger signals gets advice even in a category without its own, staff lower it with /priority,
and /ticket explains the routing in the reader's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import Session, select

from cases.models import RoutingExample
from tests.harness import BotHarness

pytestmark = pytest.mark.e2e

RESIDENT, LEADER, WANG, GAS = 1001, 3001, 2001, 4001
GRID = "taizimiao-1"


async def _staffed(h: BotHarness) -> None:
    h.staff(WANG, "王师傅", "worker", GRID)
    h.staff(LEADER, "张组长", "leader", "taizimiao")
    h.staff(GAS, "燃气刘工", "worker", "team:gas-company")


async def test_i_smell_gas_goes_to_the_gas_company_with_advice(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "Ann", lang="en")
        h.emu.send_text(RESIDENT, "I smell gas in the corridor of building 7")
        advice = await h.expect(RESIDENT, "Emergency advice")
        assert "96777" in (advice.text or "")
        ticket = h.ticket(1)
        assert (ticket.category, ticket.priority, ticket.target) == ("gas", "emergency", "team:gas-company")
        await h.expect(GAS, "#1")


async def test_a_danger_signal_makes_an_emergency_that_staff_can_lower(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋楼下的路灯杆底下电线在冒火花")
        await h.expect(RESIDENT, "紧急提示")
        assert h.ticket(1).priority == "emergency"
        h.emu.send_text(LEADER, "/priority 1 普通")
        await h.expect(LEADER, "优先级已改为普通")
        assert h.ticket(1).priority == "normal"
        assert any(e.kind == "priority_changed" and e.data == {"from": "emergency", "to": "normal"}
                   for e in h.events(1))
        with Session(h.app.engine) as session:
            learned = session.exec(select(RoutingExample)).all()
        assert [(r.emergency, r.source) for r in learned] == [(False, "staff")]
        h.emu.send_text(WANG, "/priority 1 whatever")
        await h.expect(WANG, "/priority 12")


async def test_ticket_card_explains_the_routing_in_chinese(tmp_path: Path) -> None:
    async with BotHarness(tmp_path) as h:
        await _staffed(h)
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋楼道灯坏了，晚上黑漆漆的")
        await h.expect(RESIDENT, "已受理")
        h.emu.send_text(LEADER, "/ticket 1")
        card = await h.expect(LEADER, "分类器判断")
        text = card.text or ""
        assert "匹配的关键词" in text and "派往" in text
        why = text[text.index("类别："):] if "类别：" in text else text
        assert not re.search(r"[A-Za-z]{3,}", why.split("派往")[0]), why
