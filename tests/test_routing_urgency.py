"""Danger signals: a signal that is feared, negated or past in its own clause does not count; water reaching
live electrics in one sentence does."""

from __future__ import annotations

import pytest

from cases.routing.router import RoutingIndex
from cases.rules.schema import Rules
from cases.textnorm import normalize_mapped


def signals(rules: Rules, text: str) -> list[str]:
    return [m.phrase for m in RoutingIndex.for_rules(rules).danger.find(normalize_mapped(text))]


@pytest.mark.parametrize("text", [
    "楼道里着火了", "I smell gas in the corridor of building 7", "樓道有瓦斯味", "电梯困人了",
    "厨房着火了，我很害怕",  # the fear is in another clause
    "配电房进水了，水快淹到电柜", "Water is pouring into the switch room", "My father fainted in the bathroom",
    # what a bystander sees, without the hazard's name
    "A sign fell off the shop and people are hurt", "Big branch fell on a man in the car park, he's not moving",
    "电线杆倒了，电线拖在地上", "有人坐在天台边上好像想跳", "Someone is trying to break into the flat below",
    "地下车库进水了，有人下去挪车还没出来",
])
def test_danger_now_is_a_signal(rules: Rules, text: str) -> None:
    assert signals(rules, text)


@pytest.mark.parametrize("text", [
    "上周燃气泄漏的事已经处理好了，谢谢",  # past and resolved
    "小区楼道堆满杂物，存在火灾隐患",  # a risk, not a fire
    "老人在楼道里烧香烧纸，烟很大，怕着火",  # feared
    "燃气灶打不着火，点了好几次都不行",  # the cooker does not ignite
    "外墙瓷砖掉落，所幸未砸伤行人",  # nobody hurt
    "Kids play near the pond, worried someone could be drowning one day",
    "配电房的门锁坏了",  # electrics without water
])
def test_hedged_or_harmless_mentions_are_not(rules: Rules, text: str) -> None:
    assert signals(rules, text) == []
