"""The bundled routing_rules.yaml: a realistic sample district that meets issue 2's minimums."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from shapely.geometry import Point, Polygon
from shapely.ops import unary_union

from cases.rules.loader import load_rules
from cases.rules.schema import Rules
from cases.working_time import WorkingDays, calendar_for

SAMPLE = Path(__file__).resolve().parent.parent / "routing_rules.yaml"
CATEGORY_IDS = {"water", "drainage", "gas", "power", "streetlight", "garbage", "road", "noise", "elderly",
                "safety", "vendor", "greenery", "parking", "other"}
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def sample() -> Rules:
    return load_rules(SAMPLE)


def _kind_count(rules: Rules, kind: str) -> int:
    return sum(1 for area in rules.areas.values() if area.kind == kind)


def test_area_tree_meets_minimum_counts(sample: Rules) -> None:
    assert _kind_count(sample, "district") == 1
    assert _kind_count(sample, "street") >= 2
    assert _kind_count(sample, "community") >= 4
    assert _kind_count(sample, "grid") >= 8
    # every grid hangs under a community, a street and the district
    for grid in sample.grids:
        kinds = [sample.areas[a].kind for a in sample.ancestors(grid)]
        assert kinds == ["grid", "community", "street", "district"], grid


def test_category_ids_are_exactly_the_required_ones(sample: Rules) -> None:
    assert set(sample.categories) == CATEGORY_IDS


def test_categories_have_chinese_and_english_keywords(sample: Rules) -> None:
    for category_id, category in sample.categories.items():
        assert category.name.zh and category.name.en
        if category_id == "other":
            continue
        chinese = [k for k in category.keywords if HAN.search(k)]
        english = [k for k in category.keywords if k.isascii()]
        assert len(chinese) >= 8, category_id
        assert len(english) >= 8, category_id


def test_no_keyword_belongs_to_two_categories(sample: Rules) -> None:
    owners: dict[str, str] = {}
    for category_id, category in sample.categories.items():
        for keyword in category.keywords:
            assert keyword.lower() not in owners, f"{keyword!r} in {owners.get(keyword.lower())} and {category_id}"
            owners[keyword.lower()] = category_id


@pytest.mark.parametrize(("category_id", "limit", "phones"),
                         [("gas", timedelta(hours=1), ["96777", "119"]), ("elderly", timedelta(hours=2), ["120"])])
def test_gas_and_elderly_are_emergencies_with_short_limits(
    sample: Rules, category_id: str, limit: timedelta, phones: list[str]
) -> None:
    category = sample.categories[category_id]
    assert category.priority == "emergency"
    resolve = sample.resolve_limit(category_id)
    assert not resolve.working and resolve.amount <= limit
    assert sample.claim_limit(category_id).amount <= timedelta(minutes=15)
    assert category.emergency_advice is not None
    for phone in phones:
        assert phone in category.emergency_advice.zh
        assert phone in category.emergency_advice.en


def test_safety_is_urgent_with_police_and_fire_numbers(sample: Rules) -> None:
    safety = sample.categories["safety"]
    assert safety.priority in ("urgent", "emergency")
    assert safety.emergency_advice is not None
    assert "110" in safety.emergency_advice.zh and "119" in safety.emergency_advice.zh
    assert "110" in safety.emergency_advice.en and "119" in safety.emergency_advice.en


def test_every_grid_has_boundary_and_bilingual_places(sample: Rules) -> None:
    for grid in sample.grids:
        area = sample.areas[grid]
        assert area.boundary is not None and len(area.boundary) >= 3, grid
        assert any(HAN.search(p) for p in area.places), grid
        assert any(p.isascii() for p in area.places), grid
        assert any(re.search(r"\d+栋|[A-Z]栋", p) for p in area.places), f"{grid} has no building number"


def test_place_names_point_to_one_grid(sample: Rules) -> None:
    places = {grid: [p.lower() for p in sample.areas[grid].places] for grid in sample.grids}
    for (a, a_places), (b, b_places) in itertools.permutations(places.items(), 2):
        for pa, pb in itertools.product(a_places, b_places):
            assert pa not in pb, f"{pa!r} of {a} is part of {pb!r} of {b}"


def _polygons(rules: Rules) -> dict[str, Polygon]:
    return {grid: Polygon(rules.areas[grid].boundary or []) for grid in rules.grids}


def test_grid_polygons_are_valid_and_do_not_overlap(sample: Rules) -> None:
    polygons = _polygons(sample)
    for grid, polygon in polygons.items():
        assert polygon.is_valid and polygon.area > 0, grid
        lon, lat = polygon.centroid.x, polygon.centroid.y
        assert 73 < lon < 135 and 18 < lat < 54, f"{grid} is not in China"
    for (a, pa), (b, pb) in itertools.combinations(polygons.items(), 2):
        assert pa.intersection(pb).area < 1e-12, f"{a} and {b} overlap"


def test_grid_polygons_tile_one_contiguous_district(sample: Rules) -> None:
    union = unary_union(list(_polygons(sample).values()))
    assert union.geom_type == "Polygon"  # no gaps splitting the district into pieces
    assert len(union.interiors) == 0  # and no holes between grids


def test_each_grid_contains_its_own_interior_point_only(sample: Rules) -> None:
    polygons = _polygons(sample)
    for grid, polygon in polygons.items():
        point: Point = polygon.representative_point()
        assert [g for g, p in polygons.items() if p.contains(point)] == [grid]


def test_teams_and_routes(sample: Rules) -> None:
    assert {"gas-company", "power-supply", "water-company", "city-management"} <= set(sample.teams)
    for team in sample.teams.values():
        assert HAN.search(team.name.zh) and team.name.en.isascii()
    first_route_for: dict[str, str] = {}
    for route in sample.routes:
        for category in route.categories():
            first_route_for.setdefault(category, route.to)
    assert first_route_for["gas"] == "team:gas-company"
    assert first_route_for["power"] == "team:power-supply"
    assert first_route_for["vendor"] == "team:city-management"
    last = sample.routes[-1]
    assert (last.to, last.categories(), last.area, last.priority) == ("grid", [], None, None)


def test_working_hours_holidays_and_makeup_days(sample: Rules) -> None:
    hours = sample.working_hours
    assert {d.year for d in hours.holidays} >= {2026, 2027}
    assert all(d.weekday() < 5 for d in hours.holidays), "a holiday on a weekend changes nothing"
    assert hours.extra_workdays and all(d.weekday() >= 5 for d in hours.extra_workdays)
    assert hours.start < hours.end


def test_timezone_escalation_and_digest(sample: Rules) -> None:
    assert sample.timezone == "Asia/Shanghai"
    afters = [step.after for step in sample.escalation]
    assert afters == sorted(afters) and len(afters) >= 3
    assert sample.digest.at.strftime("%H:%M") == "08:30"
    assert sample.defaults.resolve_within.amount == timedelta(hours=24)


def test_the_2026_spring_festival_is_not_working_time(sample: Rules) -> None:
    # Two working days from Friday 13 February 2026, 10:00: Saturday the 14th is worked (调休), 15-23 are off.
    zone = sample.zone
    start = datetime(2026, 2, 13, 10, 0, tzinfo=zone)
    due = calendar_for(sample).add_working(start, WorkingDays(2))
    assert due.astimezone(zone) == datetime(2026, 2, 24, 10, 0, tzinfo=zone)
