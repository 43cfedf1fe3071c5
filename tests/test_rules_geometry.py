"""`rules check` finds boundaries that load but misroute: a self-crossing outline, overlapping grids and
gaps inside a community, each at its file:line:col with what is wrong and where."""

from __future__ import annotations

from pathlib import Path

import pytest

from cases.rules.errors import RulesError
from cases.rules.loader import load_rules, load_rules_text

ROOT = Path(__file__).resolve().parent.parent

HEAD = """\
categories:
  other: {name: {zh: 其他, en: Other}}
areas:
  d: {kind: district, children: [s]}
  s: {kind: street, children: [c]}
  c: {kind: community, children: [g1, g2, g3]}
"""


def _issues(areas: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        load_rules_text(HEAD + areas, "rules.yaml")
    return [str(issue) for issue in caught.value.issues]


def test_a_self_crossing_boundary_is_reported_at_the_crossing_edge() -> None:
    # a bow tie: the edge 1→2 crosses the edge 3→4 at [113.105, 29.355]
    issues = _issues("""\
  g1: {kind: grid, places: [甲], boundary: [[113.10, 29.35], [113.11, 29.36], [113.11, 29.35], [113.10, 29.36]]}
  g2: {kind: grid, places: [乙]}
  g3: {kind: grid, places: [丙]}
""")
    assert issues == [
        "rules.yaml:7:44: areas.g1.boundary[0]: the boundary of grid 'g1' crosses itself at [113.105, 29.355]: "
        "the edge from point 1 to 2 crosses the edge from point 3 to 4; reorder the points so they go round "
        "the grid once",
    ]


def test_overlapping_grids_name_both_and_the_area() -> None:
    # g2 reaches 0.001° (≈ 97 m) into g1 over a 0.01° (≈ 1,106 m) edge
    issues = _issues("""\
  g1: {kind: grid, places: [甲], boundary: [[113.10, 29.35], [113.11, 29.35], [113.11, 29.36], [113.10, 29.36]]}
  g2: {kind: grid, places: [乙], boundary: [[113.109, 29.35], [113.12, 29.35], [113.12, 29.36], [113.109, 29.36]]}
  g3: {kind: grid, places: [丙]}
""")
    assert len(issues) == 1
    assert issues[0].startswith("rules.yaml:8:33: areas.g2.boundary: grid 'g2' overlaps grid 'g1' by 107,")
    assert issues[0].endswith(" m²; a point there would go to 'g1' (the first in the file): move the shared edge "
                              "so they only touch")


def test_grids_that_only_share_an_edge_pass() -> None:
    rules = load_rules_text(HEAD + """\
  g1: {kind: grid, places: [甲], boundary: [[113.10, 29.35], [113.11, 29.35], [113.11, 29.36], [113.10, 29.36]]}
  g2: {kind: grid, places: [乙], boundary: [[113.11, 29.35], [113.12, 29.35], [113.12, 29.36], [113.11, 29.36]]}
  g3: {kind: grid, places: [丙]}
""", "rules.yaml")
    assert rules.areas["g2"].boundary is not None


def test_a_gap_inside_a_community_is_reported_with_where_it_is() -> None:
    # g1 (south), g2 (an L over west and north) and g3 (east) surround an empty square
    # [113.11..113.12] x [29.36..29.37], about 970 m x 1,106 m
    issues = _issues("""\
  g1: {kind: grid, places: [甲], boundary: [[113.10, 29.35], [113.13, 29.35], [113.13, 29.36], [113.10, 29.36]]}
  g2: {kind: grid, places: [乙], boundary: [[113.10, 29.36], [113.11, 29.36], [113.11, 29.37], [113.13, 29.37],
                                           [113.13, 29.38], [113.10, 29.38]]}
  g3: {kind: grid, places: [丙], boundary: [[113.12, 29.36], [113.13, 29.36], [113.13, 29.37], [113.12, 29.37]]}
""")
    assert len(issues) == 1, issues
    assert issues[0].startswith("rules.yaml:6:3: areas.c: community 'c' has a gap of 1,")
    assert "m² that none of its grids covers, around [113.11" in issues[0]
    assert issues[0].endswith("a location there finds no grid: extend a neighbouring grid's boundary over it")


def test_the_bundled_rules_have_no_geometry_problems() -> None:
    rules = load_rules(ROOT / "routing_rules.yaml")
    assert sum(1 for g in rules.grids if rules.areas[g].boundary) >= 8


def test_the_nearest_grid_explanation_is_a_whole_sentence() -> None:
    from cases.routing.router import Report, route

    rules = load_rules(ROOT / "routing_rules.yaml")
    decision = route(Report(text="路灯坏了", lat=29.3495, lon=113.104, home_area=None), rules)
    line = next(x for x in decision.explain().splitlines() if x.startswith("location:"))
    assert "outside every polygon" in line and line.endswith(" m from this grid's boundary"), line
