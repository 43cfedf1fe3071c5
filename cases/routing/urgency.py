"""Danger signals: words that make a report an emergency whatever its category.

The built-in signals below (Chinese and English) always count; a rules file adds its own under
``danger_signals.words``. They are matched like keywords (traditional characters, typos, split Chinese
phrases, English stems in any order within a small window), so ``樓道有瓦斯味``, ``I smell gas`` and
``gas is hissing out of the meter`` are all found. Recall comes before precision: a signal raises the report
to ``emergency`` and staff can lower it afterwards.
"""

from __future__ import annotations

from cases.routing.keywords import Match, PhraseMatcher, resolve_overlaps
from cases.rules.schema import Rules
from cases.textnorm import Normalized

__all__ = ["BUILTIN_SIGNALS", "DangerMatcher"]

BUILTIN_SIGNALS: tuple[str, ...] = (
    # fire and smoke
    "着火", "著火", "起火", "失火", "火灾", "冒烟", "浓烟", "黑烟", "火苗", "烧起来", "烧着了", "爆炸", "闻到烧焦",
    "on fire", "caught fire", "flames", "flame", "smoke pouring", "smoke coming", "full of smoke", "thick smoke",
    "smell burning", "house fire", "explosion",
    # gas
    "煤气味", "瓦斯味", "燃气味", "天然气味", "液化气味", "漏气", "燃气泄漏", "煤气泄漏", "嘶嘶",
    "smell gas", "gas smell", "gas leak", "leaking gas", "gas hissing", "hissing",
    # trapped
    "被困", "困在电梯", "关在电梯", "卡在电梯", "电梯困人", "出不来",
    "trapped", "stuck in the lift", "stuck in the elevator", "stuck lift", "stuck elevator",
    # falls, collapse, breathing
    "摔倒", "跌倒", "摔了一跤", "起不来", "晕倒", "昏倒", "昏迷", "不省人事", "没有呼吸", "没呼吸", "喘不上气",
    "没有意识", "叫不醒", "心脏病", "救命",
    "fell down", "fallen down", "can't get up", "cannot get up", "unconscious", "not breathing", "passed out",
    "collapsed", "not responding", "unresponsive", "heart attack", "help me",
    # electricity
    "冒火花", "冒火星", "打火花", "火星四溅", "电线掉", "电线断了", "触电", "漏电",
    "sparking", "sparks", "live wire", "electrocuted", "electric shock",
    # someone alone not answering
    "无人应门", "没人应门", "敲门没人应", "电话打不通", "联系不上", "好几天没出门",
    "not answering", "no answer", "hasn't been seen",
    # water and structure dangers
    "塌了", "坍塌", "突然塌陷", "掉下来砸", "淹了",
    "sinkhole opened", "car fell", "collapsing", "flooding into", "caving in",
    "落水", "掉水里", "掉进水", "溺水", "掉进河", "掉进池塘", "被水冲走", "困在车里", "车里有人",
    "drowning", "fell into the water", "fell into the river", "fell into the pond", "fell in the lake",
    "swept away", "people inside", "trapped inside",
    # injuries and violence
    "受伤", "流血", "出血", "骨折", "砸到人", "砸伤", "砸到了", "被砸", "被车撞", "撞到人", "持刀", "拿刀", "砍人",
    "捅人", "打人", "抢劫", "绑架", "枪", "砸门", "撬门", "闯进", "闯入", "入室",
    "injured", "bleeding", "blood everywhere", "hit by a car", "knocked down", "knife", "stabbed", "stabbing",
    "gun", "shooting", "robbery", "attacking", "assault", "hurt badly", "seriously hurt", "breaking in",
    "break in", "intruder", "forcing the door",
    # children in danger
    "小孩掉", "孩子掉", "小孩爬", "孩子爬", "小孩被锁", "孩子被锁", "孩子被困", "小孩被困", "小孩不见", "孩子走丢",
    "child fell", "toddler", "kid fell", "child locked", "child alone", "baby alone", "missing child",
    "leaning over the rail", "climbing over",
    # smells and calls for help
    "一氧化碳", "头晕", "呕吐", "carbon monoxide", "co alarm", "dizzy", "fumes",
    "卡进", "夹住", "卡住了手", "被卡", "卡在里面", "被压", "pinned", "got a shock", "electric shock",
    "臭鸡蛋味", "焦糊味", "烧焦味", "rotten egg", "burning smell", "smell of burning",
    "打120", "打119", "打110", "叫救护车", "急救", "call an ambulance", "ambulance", "call 911", "911",
)
DANGER = "danger"


class DangerMatcher:
    """Finds danger signals in a normalised message (built once per rules; read-only afterwards)."""

    def __init__(self, rules: Rules) -> None:
        words = [*BUILTIN_SIGNALS, *rules.danger_signals.words]
        self.matcher = PhraseMatcher((word, DANGER) for word in words)

    def find(self, text: Normalized) -> list[Match]:
        """The signals present (fuzzy and pinyin look-alikes excluded: a danger word must really be there)."""
        return resolve_overlaps(self.matcher.find(text, loose=False))
