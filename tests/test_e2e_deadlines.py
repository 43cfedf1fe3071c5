"""End to end with limits of a few seconds: the sweep reminds, warns and climbs the ladder through the
real bot and the Bot API emulator; each step reaches the right people exactly once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cases.clock import Clock
from cases.rules.loader import load_rules
from cases.rules.schema import Rules
from tests.harness import ROOT, BotHarness, clock_at

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RESIDENT, WORKER, GRID_LEADER, COMMUNITY_LEADER, STREET_SUPERVISOR, OTHER_STREET = 1001, 2001, 3001, 3002, 4001, 4002


def noon() -> Clock:
    """Noon today in the rules' time zone: past the daily digest time (08:30) and far from midnight, so the
    digest assertions hold whenever CI runs."""
    return clock_at(12, 0, "Asia/Shanghai")


def fast_rules() -> Rules:
    """The bundled rules with garbage limits of seconds and a ladder of seconds."""
    data = load_rules(ROOT / "routing_rules.yaml").model_dump()
    data["categories"]["garbage"].update(claim_within="2s", resolve_within="6s")
    data["escalation"] = [
        {"after": timedelta(seconds=0), "notify": "grid_leader"},
        {"after": timedelta(seconds=2), "notify": "community_leader"},
        {"after": timedelta(seconds=4), "notify": "street_supervisor"},
    ]
    data["defaults"]["warn_at"] = 0.6
    return Rules.model_validate(data)


async def test_unclaimed_reminds_then_unresolved_climbs_the_ladder_once_per_step(tmp_path: Path) -> None:
    async with BotHarness(tmp_path, rules=fast_rules(), sweep_seconds=0.3, clock=noon()) as h:
        h.staff(WORKER, "王师傅", "worker", "taizimiao-1")
        h.staff(GRID_LEADER, "网格长小周", "leader", "taizimiao-1")
        h.staff(COMMUNITY_LEADER, "社区书记老郑", "leader", "taizimiao")
        h.staff(STREET_SUPERVISOR, "街道督导孙科", "supervisor", "jineshan")
        h.staff(OTHER_STREET, "别的街道督导", "supervisor", "fengqiaohu")
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "金鹗小区5栋门口的垃圾三天没人收了")
        await h.expect(RESIDENT, "已受理，工单号 #1")
        # Nobody claims within 2 s: the grid's workers and its leader are reminded.
        await h.expect(WORKER, "已超过认领时限", timeout=15)
        await h.expect(GRID_LEADER, "已超过认领时限", timeout=15)
        await h.click(WORKER, WORKER, "认领")
        # The holder is warned before the deadline, then the ladder climbs one step at a time.
        await h.expect(WORKER, "将于", timeout=15)
        level1 = await h.expect(GRID_LEADER, "第 1 级", timeout=20)
        assert "王师傅" in (level1.text or ""), "the escalation names who holds the ticket"
        assert h.emu.find_button(GRID_LEADER, "改派"), "an escalation offers reassigning"
        await h.expect(COMMUNITY_LEADER, "第 2 级", timeout=20)
        await h.expect(STREET_SUPERVISOR, "第 3 级", timeout=20)
        ticket = h.ticket(1)
        assert ticket.escalation_level == 3
        assert ticket.claimed_by == h.person(WORKER).id, "escalation never changes who owns the ticket"  # type: ignore[union-attr]
        await h.settle(1.5)  # more sweeps run: nothing repeats
        escalations = [e for e in h.events(1) if e.kind == "escalated"]
        assert [e.data["level"] for e in escalations] == [1, 2, 3]
        assert [e.kind for e in h.events(1)].count("claim_reminder") >= 1
        for chat, fragment in ((GRID_LEADER, "第 1 级"), (COMMUNITY_LEADER, "第 2 级"), (STREET_SUPERVISOR, "第 3 级")):
            assert sum(fragment in t for t in h.texts(chat)) == 1, (chat, h.texts(chat))
        assert not any("#1" in t for t in h.texts(OTHER_STREET)), "another street's supervisor hears nothing of it"
        digests = [t for t in h.texts(STREET_SUPERVISOR) if "街道" in t and "按期结案率" in t]
        assert len(digests) == 1, "the street supervisor got exactly one daily digest"
        assert h.emu.duplicate_sends() == []
        # Resolving stops the ladder.
        await h.click(WORKER, WORKER, "处理完毕")
        h.emu.send_text(WORKER, "/skip")
        await h.expect(RESIDENT, "已处理完毕")
        assert h.ticket(1).status == "resolved"


async def test_a_report_never_placed_goes_to_the_district_queue_and_the_resident_is_told(tmp_path: Path) -> None:
    data = fast_rules().model_dump()
    data["defaults"]["locate_within"] = timedelta(seconds=2)
    async with BotHarness(tmp_path, rules=Rules.model_validate(data), sweep_seconds=0.3, clock=noon()) as h:
        h.staff(4900, "区指挥中心", "supervisor", "dongting")
        h.resident(RESIDENT, "陈阿姨")
        h.emu.send_text(RESIDENT, "楼下的垃圾好几天没人收了")
        await h.expect(RESIDENT, "还不知道地点")
        await h.expect(RESIDENT, "已转交街道统一调度", timeout=15)
        alert = await h.expect(4900, "已进入区级统一调度", timeout=15)
        assert "#1" in (alert.text or "")
        ticket = h.ticket(1)
        assert (ticket.status, ticket.target) == ("open", "area:dongting")
        await h.click(4900, 4900, "认领")
        assert h.ticket(1).status == "claimed", "the district can take the report itself"
