"""Routing behaviour beyond the labelled table: route conditions, the index cache, explanations,
location edge cases and the matcher's guards against false matches."""

from __future__ import annotations

import gc
import json
import math
from typing import Any

import pytest

from cases.routing import Report, RouteDecision, RoutingIndex, route
from cases.routing.keywords import FUZZY_WORDS, PhraseMatcher, fuzzy_cutoff, resolve_overlaps, stem
from cases.routing.router import explain
from cases.rules.schema import Rules
from cases.textnorm import normalize_mapped


def _name(text: str) -> dict[str, str]:
    return {"zh": text, "en": text}


SMALL: dict[str, Any] = {
    "categories": {
        "water": {"name": _name("water"), "keywords": ["水管", "burst pipe", "bin"], "priority": "urgent"},
        "gas": {"name": _name("gas"), "keywords": ["燃气", "gas leak"], "priority": "emergency"},
        "elderly": {"name": _name("elderly"), "keywords": ["老人"], "priority": "emergency"},
        "noise": {"name": _name("noise"), "keywords": ["噪音", "noise"], "priority": "low"},
        "other": {"name": _name("other")},
    },
    "areas": {
        "d": {"kind": "district", "children": ["s1", "s2"]},
        "s1": {"kind": "street", "children": ["c1"]},
        "s2": {"kind": "street", "children": ["c2"]},
        "c1": {"kind": "community", "children": ["g1", "g2"]},
        "c2": {"kind": "community", "children": ["g3"]},
        "g1": {"kind": "grid", "places": ["东湖小区"], "boundary": [[0, 0], [1, 0], [1, 1], [0, 1]]},
        "g2": {"kind": "grid", "places": ["西湖小区", "West Lake Park"],
               "boundary": [[1, 0], [2, 0], [2, 1], [1, 1]]},
        "g3": {"kind": "grid", "places": ["南湖小区"]},
    },
    "teams": {"gas-co": {"name": _name("gas co")}, "duty": {"name": _name("duty")}},
    "routes": [
        {"category": "gas", "to": "team:gas-co"},
        {"priority": "emergency", "to": "team:duty"},
        {"category": "noise", "to": "grid:g3"},
        {"category": "water", "area": "s2", "to": "grid:g1"},
        {"to": "grid"},
    ],
}


@pytest.fixture(scope="module")
def small() -> Rules:
    return Rules.model_validate(SMALL)


def _route(rules: Rules, text: str, **kw: Any) -> RouteDecision:
    return route(Report(text, **kw), rules)


# ---- routes ----


def test_first_matching_route_wins_and_is_named(small: Rules) -> None:
    decision = _route(small, "燃气 老人")  # gas wins the tie with elderly (first in the file), then routes[0]
    assert (decision.category, decision.target, decision.route_index) == ("gas", "team:gas-co", 0)
    assert decision.explanation["route"]["rule"] == "routes[0]: {category: gas, to: team:gas-co}"
    assert "routes[0]: {category: gas, to: team:gas-co} → team:gas-co" in decision.explain()


def test_priority_condition(small: Rules) -> None:
    decision = _route(small, "老人")
    assert (decision.priority, decision.target, decision.route_index) == ("emergency", "team:duty", 1)
    assert _route(small, "水管 东湖小区").target == "grid:g1"  # urgent is below emergency


def test_fixed_grid_target_needs_no_location(small: Rules) -> None:
    decision = _route(small, "噪音")
    assert (decision.target, decision.area, decision.needs_location) == ("grid:g3", None, False)


def test_area_condition_and_skipped_routes(small: Rules) -> None:
    decision = _route(small, "水管 南湖小区")
    assert (decision.area, decision.target, decision.route_index) == ("g3", "grid:g1", 3)
    elsewhere = _route(small, "水管 西湖小区")
    assert (elsewhere.target, elsewhere.route_index) == ("grid:g2", 4)
    assert any("g2 is not within s2" in line for line in elsewhere.explanation["route"]["skipped"])
    unknown = _route(small, "水管")
    assert unknown.target is None and unknown.needs_location
    assert any("location is unknown" in line for line in unknown.explanation["route"]["skipped"])


# ---- category scoring ----


def test_tie_goes_to_priority_then_file_order(small: Rules) -> None:
    by_priority = _route(small, "噪音 水管")  # 4 vs 4: water (urgent) beats noise (low)
    assert (by_priority.category, by_priority.runner_up) == ("water", "noise")
    assert "higher priority" in by_priority.explanation["category"]["reason"]
    by_order = _route(small, "老人 燃气")  # 4 vs 4, both emergency: gas is first in the file
    assert (by_order.category, by_order.runner_up) == ("gas", "elderly")
    assert "first in the rules file" in by_order.explanation["category"]["reason"]
    assert by_order.category_uncertain


def test_candidates_best_first_and_at_most_three(small: Rules) -> None:
    decision = _route(small, "水管水管 burst pipe 燃气 老人 噪音")
    assert [c for c, _ in decision.candidates] == ["water", "gas", "elderly"]
    assert decision.runner_up == "gas" and decision.runner_up_score == 100


def test_no_match_is_other_with_score_zero(small: Rules) -> None:
    decision = _route(small, "nothing to see here")
    assert (decision.category, decision.category_score, decision.runner_up, decision.candidates) == (
        "other", 0.0, None, ())
    assert decision.category_uncertain


def test_pinyin_only_match_is_uncertain(rules: Rules) -> None:
    decision = route(Report("拉圾没人收"), rules)
    assert decision.category == "garbage" and decision.category_score < 90 and decision.category_uncertain
    match = decision.explanation["category"]["matches"][0]
    assert (match["form"], match["found"], match["pinyin"], match["start"]) == ("pinyin", "拉圾", "la ji", 0)


def test_a_phrase_split_by_a_few_words_is_found_but_uncertain(rules: Rules) -> None:
    decision = route(Report("楼道里的灯全坏了"), rules)
    assert decision.category == "streetlight" and decision.category_uncertain
    found = {(m["keyword"], m["form"], m["found"], m["score"]) for m in decision.explanation["category"]["matches"]}
    assert found == {("楼道灯", "split", "楼道里的灯", 75.0), ("灯坏了", "split", "灯全坏了", 80.0)}
    assert "with other words in between: '楼道里的灯'" in explain(decision.explanation)


@pytest.mark.parametrize(("text", "why"), [
    ("楼道里面的灯", "three characters in between are too many"),
    ("楼道，灯", "never across punctuation"),
    ("水果店管理员", "two-character keywords are never split (水管)"),
])
def test_split_phrases_stay_close_and_long(text: str, why: str) -> None:
    matcher = PhraseMatcher([("楼道灯", "streetlight"), ("水管", "water")])
    assert [m for m in matcher.find(normalize_mapped(text)) if m.form == "split"] == [], why


def test_an_exact_phrase_is_never_also_reported_split() -> None:
    matcher = PhraseMatcher([("楼道灯", "streetlight")])
    assert [(m.form, m.score) for m in matcher.find(normalize_mapped("楼道灯坏了"))] == [("exact", 100.0)]


def test_a_verb_form_of_a_one_word_keyword_is_uncertain(rules: Rules) -> None:
    decision = route(Report("The cleaner got fired"), rules)
    assert decision.category == "safety" and decision.category_uncertain  # the resident is asked
    (match,) = decision.explanation["category"]["matches"]
    assert (match["keyword"], match["form"], match["found"], match["score"]) == ("fire", "verb", "fired", 85.0)
    assert "as a verb form, which may mean something else: 'fired'" in explain(decision.explanation)


@pytest.mark.parametrize(("text", "category"), [
    ("house on fire", "safety"), ("burst pipes in the yard", "water"), ("drains blocked again", "drainage"),
])
def test_plurals_and_exact_words_stay_certain(rules: Rules, text: str, category: str) -> None:
    decision = route(Report(text), rules)
    assert decision.category == category and not decision.category_uncertain


def test_verb_forms_are_plain_variants_when_the_keyword_is_one_too() -> None:
    matcher = PhraseMatcher([("leaking", "water"), ("gas leak", "gas")])
    found = {(m.phrase, m.form, m.score) for m in matcher.find(normalize_mapped("leaked, gas leaks"))}
    assert found == {("leaking", "variant", 100.0), ("gas leak", "variant", 100.0)}


def test_keyword_inside_place_name_is_ignored(small: Rules) -> None:
    decision = _route(small, "bins full at West Lake Park")
    assert decision.area == "g2"
    assert decision.category == "water"  # 'bin' outside the place name still counts
    parked = _route(small, "something at West Lake Park")
    assert parked.category == "other"


# ---- explanation ----


def test_explanation_names_form_position_and_runner_up(rules: Rules) -> None:
    decision = route(Report("請注意 樓道燈壞了，垃圾也没人收"), rules)
    first = decision.explanation["category"]["matches"][0]
    assert (first["keyword"], first["found"], first["form"], first["start"]) == ("楼道灯", "樓道燈", "t2s", 4)
    text = decision.explain()
    assert "traditional→simplified" in text and "'樓道燈'" in text and "at 4" in text
    assert "runner-up: garbage" in text
    assert "location: missing" in text


def test_explanation_point_and_route_lines(rules: Rules) -> None:
    decision = route(Report("gas leak", lat=29.353, lon=113.104), rules)
    text = decision.explain()
    assert "the shared point [113.104, 29.353] lies inside its polygon" in text
    assert "routes[0]: {category: gas, to: team:gas-company} → team:gas-company" in text
    assert decision.location_source == "point" and decision.area == "taizimiao-1"


def test_explanation_typo_with_score(rules: Rules) -> None:
    text = route(Report("burts pipe"), rules).explain()
    assert "'burst pipe' matched as the typo 'burts pipe' (fuzzy score 90)" in text


def test_to_dict_is_json(rules: Rules) -> None:
    data = json.loads(json.dumps(route(Report("水管爆了 金鹗小区"), rules).to_dict(), ensure_ascii=False))
    assert data["category"] == "water" and data["area"] == "taizimiao-1" and data["target"] == "grid:taizimiao-1"
    assert data["candidates"] == [{"category": "water", "score": 100.0}]
    assert data["explanation"]["location"]["place"]["keyword"] == "金鹗小区"
    assert data["explanation_text"].startswith("category: water")


# ---- location edge cases ----


@pytest.mark.parametrize(
    ("lat", "lon"), [(math.nan, 0.5), (0.5, math.inf), (95.0, 0.5), (0.5, None), (None, 0.5)]
)
def test_invalid_points_are_ignored(small: Rules, lat: float | None, lon: float | None) -> None:
    decision = _route(small, "水管 西湖小区", lat=lat, lon=lon)
    assert (decision.area, decision.location_source) == ("g2", "place")
    assert any("ignored" in note for note in decision.explanation["location"]["notes"])


def test_nearest_grid_within_200_metres(small: Rules) -> None:
    just_outside = _route(small, "水管", lat=0.5, lon=2.001)  # about 111 m east of g2
    assert (just_outside.area, just_outside.explanation["location"]["how"]) == ("g2", "nearest")
    assert 100 < just_outside.explanation["location"]["distance_m"] < 120
    far = _route(small, "水管", lat=0.5, lon=2.01)  # about 1.1 km
    assert far.area is None and far.location_source == "missing"


def test_grid_without_boundary_is_found_by_place(small: Rules) -> None:
    assert _route(small, "南湖小区 水管", lat=5.0, lon=5.0).area == "g3"


def test_home_area_forms(small: Rules) -> None:
    assert _route(small, "水管", home_area="g2").area == "g2"
    assert _route(small, "水管", home_area="c2").area == "g3"  # community with one grid
    assert _route(small, "水管", home_area="c1").area is None  # two grids: ambiguous
    assert _route(small, "水管", home_area="西湖小区").area == "g2"  # a place name


# ---- matcher guards ----


def test_stem_and_cutoff() -> None:
    assert stem("pipes") == stem("pipe") and stem("leaking") == stem("leaks") == "leak"
    assert stem("gas") == "gas" and stem("glass") != "gla"
    assert fuzzy_cutoff(3) is None and fuzzy_cutoff(4) is None
    assert fuzzy_cutoff(5) == 90 and fuzzy_cutoff(8) == 85 and fuzzy_cutoff(10) == 80


@pytest.mark.parametrize("text", ["a bun", "car crash", "a fire fight", "a bean"])
def test_short_words_do_not_fuzzy_match(text: str) -> None:
    matcher = PhraseMatcher([("bin", "garbage"), ("trash", "garbage"), ("fight", "safety"), ("bean", "x")])
    found = matcher.find(normalize_mapped(text))
    assert all(m.form != "fuzzy" for m in found)
    assert {m.phrase for m in found} <= {"fight", "bean"}


def test_overlap_keeps_the_longer_phrase() -> None:
    matcher = PhraseMatcher([("水管", "water"), ("下水管", "drainage"), ("漏水", "water")])
    kept = resolve_overlaps(matcher.find(normalize_mapped("下水管漏水")))
    assert [(m.phrase, m.start) for m in kept] == [("下水管", 0), ("漏水", 3)]


def test_long_text_exact_everywhere_fuzzy_only_at_the_start() -> None:
    matcher = PhraseMatcher([("垃圾", "garbage"), ("burst pipe", "water")])
    filler = "很好 " * 3000
    exact = matcher.find(normalize_mapped(filler + "垃圾"))
    assert [m.phrase for m in exact] == ["垃圾"] and exact[0].start == len(filler)
    words = "ok " * (FUZZY_WORDS + 5)
    assert not matcher.find(normalize_mapped(words + "burts pipe"))
    assert matcher.find(normalize_mapped("burts pipe " + words))[0].form == "fuzzy"


# ---- index cache ----


def test_index_is_cached_per_rules_object() -> None:
    first = Rules.model_validate(SMALL)
    second = Rules.model_validate(SMALL)
    index = RoutingIndex.for_rules(first)
    assert RoutingIndex.for_rules(first) is index
    assert RoutingIndex.for_rules(second) is not index
    assert RoutingIndex.build(first) is not index
    key = id(first)
    del first, index
    gc.collect()
    assert key not in RoutingIndex._cache  # dropped together with its Rules object


def test_route_uses_a_given_index(small: Rules) -> None:
    index = RoutingIndex.build(small)
    assert route(Report("燃气"), small, index=index) == route(Report("燃气"), small)
