"""Danger signals: words that make a report an emergency whatever its category.

The built-in signals below (Chinese and English) always count; a rules file adds its own under
``danger_signals.words``. They are matched like keywords (traditional characters, typos, split Chinese
phrases, English stems in any order within a small window), so ``樓道有瓦斯味``, ``I smell gas`` and
``gas is hissing out of the meter`` are all found. Recall comes before precision: a signal raises the report
to ``emergency`` and staff can lower it afterwards.
"""

from __future__ import annotations

import re

from cases.routing.keywords import Match, PhraseMatcher, resolve_overlaps
from cases.rules.schema import Rules
from cases.textnorm import Normalized

__all__ = ["BUILTIN_SIGNALS", "DangerMatcher", "defused"]

BUILTIN_SIGNALS: tuple[str, ...] = (
    # fire and smoke
    "着火", "著火", "起火", "失火", "火灾", "冒烟", "浓烟", "黑烟", "火苗", "烧起来", "烧着了", "爆炸", "闻到烧焦",
    "on fire", "caught fire", "flames", "火光", "火烛", "自燃", "apartment fire", "kitchen fire", "fire on the",
    "smoke filling", "exploded", "smoke pouring", "smoke coming", "full of smoke", "thick smoke",
    "smell burning", "house fire", "explosion", "火好大", "火很大", "火势", "大火", "fire is spreading",
    # gas
    "煤气味", "瓦斯味", "燃气味", "天然气味", "液化气味", "漏气", "燃气泄漏", "煤气泄漏", "嘶嘶",
    "smell gas", "gas smell", "gas leak", "leaking gas", "gas hissing", "hissing",
    "泄漏", "冒气", "一直在漏", "呲呲", "reek gas", "stink gas", "gas odor", "gas odour", "whiff gas",
    # trapped
    "被困", "困在电梯", "关在电梯", "卡在电梯", "电梯困人", "出不来",
    "trapped", "stuck in the lift", "stuck in the elevator", "stuck lift", "stuck elevator",
    # falls, collapse, breathing
    "摔倒", "跌倒", "摔了一跤", "起不来", "晕倒", "昏倒", "昏迷", "不省人事", "没有呼吸", "没呼吸", "喘不上气",
    "没有意识", "叫不醒", "心脏病", "救命",
    "fell down", "fallen down", "can't get up", "cannot get up", "unconscious", "not breathing", "passed out",
    "collapsed", "not responding", "unresponsive", "heart attack", "help me",
    "倒在地上", "倒地", "叫也不应", "也没反应", "昏过去", "晕过去", "胸口疼", "胸口痛", "说不出话", "嘴歪", "抽搐",
    "跌低", "起唔到身", "fainted", "not waking up", "lying on the floor", "lying on the ground", "chest pain",
    "can't breathe", "barely breathe", "shouting for help", "calling help", "call for help",
    # electricity
    "冒火花", "冒火星", "打火花", "火星四溅", "电线掉", "电线断了", "触电", "漏电",
    "sparking", "sparks", "live wire", "electrocuted", "electric shock",
    "还有电", "还在通电", "仍然有电", "出火花", "power line down", "fizzing", "crackling",
    # someone alone not answering
    "无人应门", "没人应门", "敲门没人应", "电话打不通", "联系不上", "好几天没出门",
    "not answering", "no answer", "hasn't been seen",
    "无人接听", "都没接", "无人应答", "没动静", "没开门", "唔应", "hasn't answered",
    "rings out",
    # danger happening now, in plain words (bystanders describe what they see, not the hazard's name)
    "冒火", "点火", "砸中", "想跳", "掉进电梯井", "里面有人", "门打不开", "拖在地上", "人在里面",
    "people hurt", "someone hurt", "he's hurt", "she's hurt", "is hurt", "not moving", "burning",
    "break into", "breaking into", "hanging from", "fell in", "being dragged", "stuck inside",
    "someone inside", "people inside", "with people in", "is under the", "going to jump", "swallowed",
    "还没出来", "hasn't come out", "hasn't come back",
    # water and structure dangers
    "塌了", "坍塌", "突然塌陷", "掉下来砸", "淹了",
    "sinkhole opened", "car fell", "collapsing", "flooding into", "caving in", "people underneath",
    "someone underneath", "压在下面", "压在底下", "埋在下面", "埋住了",
    "跳楼", "要跳", "掉下去", "掉进去", "入面有人", "困咗", "头破血流", "砸人", "追人",
    "beating", "being hurt", "hit a pedestrian",
    "落水", "掉水里", "掉进水", "溺水", "掉进河", "掉进池塘", "被水冲走", "困在车里", "车里有人",
    "drowning", "fell into the water", "fell into the river", "fell into the pond", "fell in the lake",
    "swept away", "people inside", "trapped inside",
    # injuries and violence
    "受伤", "流血", "出血", "骨折", "砸到人", "砸伤", "砸到了", "被砸", "人被车撞", "撞到人", "持刀", "拿刀", "砍人",
    "捅人", "打人", "抢劫", "绑架", "枪", "砸门", "撬门", "闯进", "闯入", "入室",
    "injured", "bleeding", "blood everywhere", "hit by a car", "knocked down", "knife", "stabbed", "stabbing",
    "gun", "shooting", "robbery", "attacking", "assault", "hurt badly", "seriously hurt", "breaking in",
    "break in", "intruder", "forcing the door", "machete", "axe", "weapon", "砍刀",
    # children in danger
    "小孩掉", "孩子掉", "小孩爬", "孩子爬", "小孩被锁", "孩子被锁", "孩子被困", "小孩被困", "小孩不见", "孩子走丢",
    "child fell", "toddler", "kid fell", "child locked", "child alone", "baby alone", "missing child",
    "locked in a hot car", "kid in a hot car", "child in a hot car", "baby in a hot car", "锁在车里", "关在车里",
    "leaning over the rail", "climbing over",
    # smells and calls for help
    "一氧化碳", "头晕", "呕吐", "carbon monoxide", "co alarm", "dizzy", "fumes",
    "卡进", "夹住", "卡住了手", "被卡", "卡在里面", "被压", "pinned", "got a shock", "electric shock",
    "臭鸡蛋味", "焦糊味", "烧焦味", "rotten egg", "burning smell", "smell of burning",
    "打120", "打119", "打110", "叫救护车", "急救", "call an ambulance", "ambulance", "call 911", "911",
)
DANGER = "danger"

ELECTRICS_AND_WATER: tuple[tuple[str, ...], tuple[str, ...]] = (
    ("配电", "电箱", "电柜", "电表箱", "电闸", "插座", "插苏", "带电", "switch room", "fuse board", "fuse box",
     "electrical panel", "electric panel", "electrics", "socket", "electrical cupboard", "electrical room"),
    ("进水", "泡在水", "淹", "浸", "水漫", "漫进", "水快", "水位", "flood", "water", "pouring in", "rain"),
)
"""Water reaching live electrics is a danger now: one word of each group in the same sentence."""
_ANY_OF = tuple(re.compile("|".join(map(re.escape, group))) for group in ELECTRICS_AND_WATER)
"""Whether a sentence holds any word of each group, in one scan (most sentences hold none)."""
_SENTENCE_END = re.compile(r"[.!?;。！？；\n]")

_CLAUSE_END = re.compile(r"[,.!?;:，。！？；：、\n]")
_HEDGE_BEFORE = (
    # a fear, a risk or a warning, not a danger now
    "担心", "害怕", "怕", "容易", "万一", "以免", "防止", "会不会", "可能会", "隐患", "所幸", "幸好", "幸亏",
    # past and resolved
    "上周", "上个月", "去年", "以前", "之前", "曾经",
    "worried", "worry", "afraid", "risk of", "in case", "could", "might", "prevent", "last week", "last month",
    "last year", "used to",
)
_HEDGE_ANYWHERE = (
    "隐患", "风险", "已经处理", "处理好了", "修好了", "已经不", "不漏了", "没有了", "的事",
    "hazard", "risk", "anymore", "no longer", "fixed now", "resolved", "been repaired",
)
_HEDGE_JUST_BEFORE = ("会", "怕", "防", "未", "没", "不", "打", "免")
"""A character right before a signal that makes it hypothetical or negated (会着火, 未砸伤, 打不着火, 打着火)."""


def defused(text: str, start: int, end: int) -> bool:
    """Whether the signal at ``[start, end)`` of the normalised ``text`` is hedged in its clause: feared
    (怕着火, 存在火灾隐患, worried it could catch fire), negated (未砸伤, no longer) or past and resolved
    (上周燃气泄漏的事已经处理好了). A defused signal does not count; the classifier still weighs the text."""
    before = _CLAUSE_END.split(text[:start])[-1]
    after = _CLAUSE_END.split(text[end:])[0]
    if before.rstrip()[-1:] in _HEDGE_JUST_BEFORE and before.rstrip():
        return True
    padded = f" {before} "
    if any(h in padded for h in _HEDGE_BEFORE if h.isascii()) or any(
            h in before for h in _HEDGE_BEFORE if not h.isascii()):
        return True
    clause = f"{before} {text[start:end]} {after}"
    return any(h in clause for h in _HEDGE_ANYWHERE)


class DangerMatcher:
    """Finds danger signals in a normalised message (built once per rules; read-only afterwards)."""

    def __init__(self, rules: Rules) -> None:
        words = [*BUILTIN_SIGNALS, *rules.danger_signals.words]
        self.matcher = PhraseMatcher((word, DANGER) for word in words)

    def find(self, text: Normalized) -> list[Match]:
        """The signals present (fuzzy and pinyin look-alikes excluded: a danger word must really be there),
        except those :func:`defused` in their clause."""
        found = resolve_overlaps(self.matcher.find(text, loose=False))
        found = [m for m in found if not defused(text.text, m.norm_start, m.norm_end)]
        if not found:
            found.extend(_electrics_and_water(text))
        return found


def _electrics_and_water(text: Normalized) -> list[Match]:
    """A signal where a sentence names both live electrics and water (配电房进水, water over the sockets)."""
    position = 0
    for sentence in _SENTENCE_END.split(text.text):
        if not (_ANY_OF[0].search(sentence) and _ANY_OF[1].search(sentence)):
            position += len(sentence) + 1
            continue
        electric = next((w for w in ELECTRICS_AND_WATER[0] if w in sentence), None)
        water = next((w for w in ELECTRICS_AND_WATER[1] if w in sentence), None)
        if electric and water:
            start = position + min(sentence.index(electric), sentence.index(water))
            end = position + max(sentence.index(electric) + len(electric), sentence.index(water) + len(water))
            if not defused(text.text, start, end):
                first, last = text.span(start, end)
                return [Match(f"{electric} + {water}", DANGER, -1, "split", 100.0, first, last,
                              text.original[first:last], start, end)]
        position += len(sentence) + 1
    return []
