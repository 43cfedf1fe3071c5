"""A labelled routing table against the bundled ``routing_rules.yaml``.

Each row: a message (with an optional shared point or remembered home area) → expected category,
grid and target. Grid centres used for points: row 1 of a community lies at lat 29.353, row 2 at
29.361; communities are 0.008° of longitude wide from 113.100 (taizimiao) eastwards.

Several categories in one message: the category whose matched keywords weigh most wins (2 per Chinese
character, 1 per other letter); a tie goes to the higher priority, then to the category first in the
file. Each such row says which rule decided it.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from cases.routing import Report, RoutingIndex, route
from cases.rules.schema import Rules


class Row(NamedTuple):
    text: str
    category: str
    area: str | None
    target: str | None
    point: tuple[float, float] | None = None  # (lat, lon)
    home: str | None = None
    source: str | None = None  # expected location_source when it matters
    emergency: bool = False  # a danger signal (sparks, smoke ...) makes it an emergency whatever the category


def _grid(area: str | None) -> str | None:
    return f"grid:{area}" if area else None


GAS = "team:gas-company"
POWER = "team:power-supply"
WATERCO = "team:water-company"
CHENGGUAN = "team:city-management"

TABLE: dict[str, Row] = {
    # ---- simplified Chinese, one per category, with a place name ----
    "zh-water-burst": Row("我家水管爆了，地板都是水 金鹗小区5栋", "water", "taizimiao-1", "grid:taizimiao-1"),
    "zh-water-off": Row("停水了三天了 东方红小区", "water", "taizimiao-2", "grid:taizimiao-2"),
    "zh-water-yellow": Row("自来水是黄水 云梦花园", "water", "yunmeng-1", "grid:yunmeng-1"),
    "zh-water-tap": Row("水龙头漏水 桃花苑6栋", "water", "yunmeng-2", "grid:yunmeng-2"),
    "zh-water-fengqiaohu-team": Row("枫桥湖小区 停水", "water", "qiaoxi-1", WATERCO),
    "zh-drain-fengqiaohu-team": Row("下水道堵了 锦绣华庭", "drainage", "baishi-2", WATERCO),
    "zh-drain-ponding": Row("小区门口积水很深 燕子山小区", "drainage", "yanzishan-1", "grid:yanzishan-1"),
    "zh-drain-septic": Row("化粪池满了 望岳新村", "drainage", "yanzishan-2", "grid:yanzishan-2"),
    "zh-gas-smell": Row("楼下有煤气味 柳林洲小区", "gas", "liulin-1", GAS),
    "zh-gas-no-place": Row("燃气泄漏了快来人", "gas", None, GAS),
    "zh-power-cut": Row("停电了 南湖华府", "power", "liulin-2", POWER),
    "zh-power-sparks": Row("电箱冒火花 铁路新村", "power", "qiaoxi-2", POWER, emergency=True),
    "zh-light-stairwell": Row("楼道灯坏了 金鹗小区12栋", "streetlight", "taizimiao-1", "grid:taizimiao-1"),
    "zh-light-street": Row("路灯不亮 学院路", "streetlight", "yunmeng-2", "grid:yunmeng-2"),
    "zh-garbage-full": Row("垃圾满了没人清运 白石岭小区", "garbage", "baishi-1", "grid:baishi-1"),
    "zh-garbage-building": Row("建筑垃圾堆在路边 云梦路", "garbage", "yunmeng-1", "grid:yunmeng-1"),
    "zh-road-cave-in": Row("路面塌陷有个大坑 青年中路", "road", "taizimiao-2", "grid:taizimiao-2"),
    "zh-road-manhole": Row("井盖丢了 站前路", "road", "qiaoxi-2", "grid:qiaoxi-2"),
    "zh-noise-renovation": Row("半夜装修太吵了 桃花苑11栋", "noise", "yunmeng-2", "grid:yunmeng-2"),
    "zh-noise-dancing": Row("广场舞音响扰民 龙舟广场", "noise", "baishi-2", "grid:baishi-2"),
    "zh-elderly-alone": Row("独居老人生病没人照顾 燕子山路", "elderly", "yanzishan-1", "grid:yanzishan-1"),
    "zh-elderly-fall": Row("老太太摔倒了 望岳路", "elderly", "yanzishan-2", "grid:yanzishan-2"),
    "zh-safety-ebike": Row("楼道里电动车充电很危险 柳林路", "safety", "liulin-1", "grid:liulin-1"),
    "zh-safety-thief": Row("有小偷 湖滨大道", "safety", "liulin-2", "grid:liulin-2"),
    "zh-vendor-bbq": Row("烧烤摊占道经营 太子庙菜市场", "vendor", "taizimiao-1", CHENGGUAN),
    "zh-vendor-night": Row("夜宵摊乱摆摊 东站广场", "vendor", "qiaoxi-2", CHENGGUAN),
    "zh-greenery-branch": Row("树枝断了 枫桥湖公园", "greenery", "qiaoxi-1", "grid:qiaoxi-1"),
    "zh-greenery-weeds": Row("草坪杂草太多 云梦幼儿园", "greenery", "yunmeng-1", "grid:yunmeng-1"),
    "zh-parking-zombie": Row("僵尸车占车位 金鹗小区", "parking", "taizimiao-1", "grid:taizimiao-1"),
    "zh-parking-door": Row("有人乱停车堵门 东方红小区8栋", "parking", "taizimiao-2", "grid:taizimiao-2"),
    # ---- traditional characters ----
    "zht-stairwell-light": Row("樓道燈壞了", "streetlight", None, None),
    "zht-pipe-burst": Row("水管破裂 雲夢花園", "water", "yunmeng-1", "grid:yunmeng-1"),
    "zht-drain": Row("下水道堵塞 燕子山小區", "drainage", "yanzishan-1", "grid:yanzishan-1"),
    "zht-gas": Row("煤氣味很重", "gas", None, GAS),
    "zht-bin": Row("垃圾桶滿了 柳林洲小區", "garbage", "liulin-1", "grid:liulin-1"),
    "zht-elderly": Row("獨居老人生病了 望岳新村", "elderly", "yanzishan-2", "grid:yanzishan-2"),
    "zht-noise": Row("噪音擾民 南湖華府", "noise", "liulin-2", "grid:liulin-2"),
    "zht-power": Row("停電了 鐵路新村", "power", "qiaoxi-2", POWER),
    "zht-streetlight": Row("路燈不亮 白石嶺路", "streetlight", "baishi-1", "grid:baishi-1"),
    "zht-vendor": Row("攤販佔道經營 龍舟路", "vendor", "baishi-2", CHENGGUAN),
    # ---- width and case ----
    "fullwidth-gas": Row("ＧＡＳ　ＬＥＡＫ at Jin'e Estate", "gas", "taizimiao-1", GAS),
    "upper-burst": Row("BURST PIPE in Yunmeng Garden", "water", "yunmeng-1", "grid:yunmeng-1"),
    # ---- English ----
    "en-burst": Row("There is a burst pipe in building 5, Jine Xiaoqu", "water", "taizimiao-1", "grid:taizimiao-1"),
    "en-no-water": Row("No water since morning at Taohua Court", "water", "yunmeng-2", "grid:yunmeng-2"),
    "en-drain": Row("The drain is blocked at Baishiling Estate", "drainage", "baishi-1", WATERCO),
    "en-sewage": Row("sewage smell near Dongfanghong Estate", "drainage", "taizimiao-2", "grid:taizimiao-2"),
    "en-gas-smell": Row("strong gas smell in the kitchen", "gas", None, GAS),
    "en-power-cut": Row("power cut in Liulin Road since 8am", "power", "liulin-1", POWER),
    "en-light-out": Row("The street light is out on Xueyuan Road", "streetlight", "yunmeng-2", "grid:yunmeng-2"),
    "en-rubbish": Row("rubbish bins overflowing at Wangyue Market", "garbage", "yanzishan-2", "grid:yanzishan-2"),
    "en-pothole": Row("huge pothole on Zhanqian Road", "road", "qiaoxi-2", "grid:qiaoxi-2"),
    "en-loud-music": Row("loud music every night from Nanhu Mansion", "noise", "liulin-2", "grid:liulin-2"),
    "en-elderly": Row("my elderly mother lives alone and fell down, Yanzishan Estate", "elderly", "yanzishan-1",
                      "grid:yanzishan-1"),
    "en-suspicious": Row("suspicious person in the stairwell at Railway New Village", "safety", "qiaoxi-2",
                         "grid:qiaoxi-2"),
    # 'illegal stall' + 'blocking the sidewalk' (vendor) hide 'sidewalk' (road) inside the longer phrase.
    "en-stall": Row("illegal stall blocking the sidewalk at Taizimiao Market", "vendor", "taizimiao-1", CHENGGUAN),
    "en-fallen-tree": Row("fallen tree on Hubin Avenue", "greenery", "liulin-2", "grid:liulin-2"),
    "en-abandoned-car": Row("abandoned car in parking space at Fengqiaohu Estate", "parking", "qiaoxi-1",
                            "grid:qiaoxi-1"),
    # ---- English typos ----
    "typo-burts-pipe": Row("burts pipe in the kitchen", "water", None, None),
    "typo-garbge": Row("garbge everywhere at Liulin Primary School", "garbage", "liulin-1", "grid:liulin-1"),
    "typo-rubish": Row("rubish not collected, Jinxiu Court", "garbage", "baishi-2", "grid:baishi-2"),
    "typo-potehole": Row("potehole on Fengqiao Road", "road", "qiaoxi-1", "grid:qiaoxi-1"),
    "typo-elderley": Row("my elderley father is unwell", "elderly", None, None),
    "typo-streetlihgt": Row("streetlihgt broken near Qiusuo Primary School", "streetlight", "taizimiao-2",
                            "grid:taizimiao-2"),
    "typo-sewge": Row("sewge everywhere at Wangyue New Village", "drainage", "yanzishan-2", "grid:yanzishan-2"),
    "typo-place-and-keyword": Row("Yunmen Garden water leek", "water", "yunmeng-1", "grid:yunmeng-1"),
    # ---- pinyin homophone slips ----
    "homophone-baole": Row("水管暴了", "water", None, None),
    "homophone-laji": Row("拉圾没人收", "garbage", None, None),
    "homophone-ludeng": Row("路登不亮 金鹗小区", "streetlight", "taizimiao-1", "grid:taizimiao-1"),
    "homophone-lajitong": Row("拉圾桶满了 桃花苑", "garbage", "yunmeng-2", "grid:yunmeng-2"),
    "homophone-xiashuidao": Row("下水到又返水了 云梦路", "drainage", "yunmeng-1", "grid:yunmeng-1"),
    "homophone-ranqi": Row("燃汽泄漏", "gas", None, GAS),
    "homophone-tingdian": Row("停店了 云梦花园", "power", "yunmeng-1", POWER),
    "homophone-zaoyin": Row("躁音太大 东方红小区", "noise", "taizimiao-2", "grid:taizimiao-2"),
    "homophone-place": Row("金鄂小区 楼道灯坏了", "streetlight", "taizimiao-1", "grid:taizimiao-1"),
    # ---- no keyword at all: 'other', never an error ----
    "none-hello-zh": Row("你好", "other", None, None),
    "none-office-hours": Row("请问社区办公室几点上班 金鹗小区", "other", "taizimiao-1", "grid:taizimiao-1"),
    "none-hello-en": Row("hello, is anyone there?", "other", None, None),
    "none-emoji": Row("😀😀😀", "other", None, None),
    "none-empty": Row("", "other", None, None),
    "none-thanks": Row("谢谢网格员 云梦花园", "other", "yunmeng-1", "grid:yunmeng-1"),
    "none-dajia-not-dajia": Row("大家好", "other", None, None),  # 大家 sounds like 打架 but shares no character
    "none-yinxiang": Row("印象很好", "other", None, None),  # 印象 sounds like 音响, shares no character
    # ---- several categories at once ----
    # streetlight: 楼道灯 + 灯坏了 (weight 12) beats garbage: 垃圾 (4).
    "multi-light-over-garbage": Row("楼道灯坏了，垃圾也没人收 金鹗小区", "streetlight", "taizimiao-1",
                                    "grid:taizimiao-1"),
    # gas 燃气+漏气 (8) ties elderly 老人+摔倒 (8); both emergency; gas comes first in the file.
    "multi-gas-ties-elderly": Row("老人摔倒了，家里燃气漏气", "gas", None, GAS),
    # drainage 下水管 (6) beats water 漏水 (4); 水管 inside 下水管 does not count.
    "multi-drain-pipe-leak": Row("下水管漏水", "drainage", None, None),
    # power 停电 (4) ties elderly 老人 (4); elderly has the higher priority (emergency > urgent).
    "multi-elderly-over-power": Row("停电了，电梯里有老人被困", "elderly", "yunmeng-2", "grid:yunmeng-2",
                                    home="yunmeng-2"),
    # drainage 'blocked drain' (12) beats water 'burst pipe' (9, as 'burst pipe').
    "multi-drain-over-burst": Row("burst pipe and blocked drain at Baishiling Road", "drainage", "baishi-1", WATERCO),
    # safety fire + smoke (9) beats power 'fuse box' (7).
    "multi-fire-over-fusebox": Row("fire and smoke from the fuse box", "safety", None, None),
    # drainage 下水道 + 堵了 (10) beats water 水管 + 漏水 (8).
    "multi-drain-over-water": Row("水管漏水，下水道也堵了", "drainage", None, None),
    # power 'transformer' (11) beats safety 'smoke' (5).
    "multi-transformer-smoke": Row("smoke coming out of the transformer at Yunmeng Road", "power", "yunmeng-1", POWER,
                                   emergency=True),
    # ---- shared points inside polygons ----
    "point-taizimiao-1": Row("水管爆了", "water", "taizimiao-1", "grid:taizimiao-1", point=(29.353, 113.104),
                             source="point"),
    "point-yunmeng-2": Row("垃圾满了", "garbage", "yunmeng-2", "grid:yunmeng-2", point=(29.361, 113.112),
                           source="point"),
    "point-qiaoxi-2-team": Row("下水道堵了", "drainage", "qiaoxi-2", WATERCO, point=(29.361, 113.120), source="point"),
    "point-yanzishan-1": Row("水管爆了", "water", "yanzishan-1", "grid:yanzishan-1", point=(29.353, 113.136),
                             source="point"),
    "point-liulin-2": Row("noisy neighbours at night", "noise", "liulin-2", "grid:liulin-2", point=(29.361, 113.144),
                          source="point"),
    "point-baishi-1": Row("路灯不亮", "streetlight", "baishi-1", "grid:baishi-1", point=(29.353, 113.128),
                          source="point"),
    "point-beats-place": Row("金鹗小区 水管爆了", "water", "liulin-1", "grid:liulin-1", point=(29.353, 113.144),
                             source="point"),
    "point-outside-falls-to-place": Row("垃圾满了 云梦花园", "garbage", "yunmeng-1", "grid:yunmeng-1",
                                        point=(29.0, 113.0), source="place"),
    "point-near-edge": Row("路灯不亮", "streetlight", "taizimiao-1", "grid:taizimiao-1", point=(29.3490, 113.104),
                           source="point"),
    "point-shared-edge-first-in-file": Row("垃圾满了", "garbage", "taizimiao-1", "grid:taizimiao-1",
                                           point=(29.353, 113.108), source="point"),
    "point-outside-nothing-else": Row("垃圾满了", "garbage", None, None, point=(30.0, 114.0), source="missing"),
    # ---- remembered home area ----
    "home-grid": Row("楼道灯坏了", "streetlight", "taizimiao-2", "grid:taizimiao-2", home="taizimiao-2", source="home"),
    "home-community-two-grids": Row("垃圾没人收", "garbage", None, None, home="liulin", source="missing"),
    "home-place-name": Row("垃圾没人收", "garbage", "yunmeng-1", "grid:yunmeng-1", home="云梦花园", source="home"),
    "home-place-beats-home": Row("垃圾没人收 南湖华府", "garbage", "liulin-2", "grid:liulin-2", home="taizimiao-1",
                                 source="place"),
    "home-gas-team": Row("gas leak", "gas", "qiaoxi-1", GAS, home="qiaoxi-1", source="home"),
    "home-drain-fengqiaohu": Row("下水道堵了", "drainage", "baishi-2", WATERCO, home="baishi-2", source="home"),
    "home-drain-elsewhere": Row("下水道堵了", "drainage", "yunmeng-1", "grid:yunmeng-1", home="yunmeng-1",
                                source="home"),
    "home-unknown": Row("垃圾没人收", "garbage", None, None, home="nowhere", source="missing"),
    # ---- missing location ----
    "missing-water": Row("水管爆了", "water", None, None, source="missing"),
    "missing-gas-team": Row("燃气漏气", "gas", None, GAS, source="missing"),
    "missing-vendor-team": Row("占道经营", "vendor", None, CHENGGUAN, source="missing"),
    "missing-drain": Row("下水道堵了", "drainage", None, None, source="missing"),
    # ---- English and pinyin place names ----
    "place-en-tielu": Row("blocked drain at Tielu Xincun", "drainage", "qiaoxi-2", WATERCO),
    "place-en-jinxiu": Row("garbage at jinxiu huating", "garbage", "baishi-2", "grid:baishi-2"),
    "place-en-dragon-boat": Row("pothole near dragon boat square", "road", "baishi-2", "grid:baishi-2"),
    "place-en-college": Row("noise from Xiangbei Vocational College", "noise", "yunmeng-2", "grid:yunmeng-2"),
    "place-en-joined": Row("trash at JineEstate", "garbage", "taizimiao-1", "grid:taizimiao-1"),
    "place-lake-park-not-parking": Row("sewage at Fengqiao Lake Park", "drainage", "qiaoxi-1", WATERCO),
}


def test_table_is_large_and_covers_every_category(rules: Rules) -> None:
    assert len(TABLE) >= 100
    assert {row.category for row in TABLE.values()} == set(rules.categories)


@pytest.mark.parametrize("row", list(TABLE.values()), ids=list(TABLE))
def test_route_table(row: Row, rules: Rules) -> None:
    lat, lon = row.point if row.point else (None, None)
    decision = route(Report(row.text, lat, lon, row.home), rules, RoutingIndex.for_rules(rules))
    got = (decision.category, decision.area, decision.target)
    assert got == (row.category, row.area, row.target), decision.explain()
    assert decision.needs_location == (row.target is None)
    assert decision.priority == ("emergency" if row.emergency else rules.categories[row.category].priority)
    if row.source is not None:
        assert decision.location_source == row.source, decision.explain()
    if row.category == "other":
        assert decision.category_score == 0 and decision.category_uncertain
    else:
        assert decision.category_score > 0
