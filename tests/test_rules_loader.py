"""The rules loader: every malformed file is reported with its exact file:line:col and message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cases.rules.loader import RuleIssue, RulesError, load_rules, load_rules_text
from cases.rules.schema import Rules
from cli import rules_cmd

ROOT = Path(__file__).resolve().parent.parent
BAD = Path(__file__).resolve().parent / "data" / "bad_rules"
SAMPLE = ROOT / "routing_rules.yaml"

MINIMAL = """\
categories:
  other: {name: {zh: 其他, en: Other}}
areas:
  d: {kind: district, children: [s]}
  s: {kind: street, children: [c]}
  c: {kind: community, children: [g1, g2]}
  g1: {kind: grid, places: [金鹗小区]}
  g2: {kind: grid, places: [东方红小区]}
"""

# file in tests/data/bad_rules -> the exact lines `gridbot rules check` prints for it
EXPECTED: dict[str, list[str]] = {
    "syntax_error.yaml": [
        "syntax_error.yaml:7:6: YAML syntax error: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence that starts at line 6, column 15)",
    ],
    "tabs.yaml": [
        "tabs.yaml:2:1: YAML syntax error: found character '\\t' that cannot start any token; "
        "indent with spaces, not tabs",
    ],
    "empty.yaml": [
        "empty.yaml:1:1: the rules file is empty; expected sections such as 'categories:' and 'areas:'",
    ],
    "not_a_mapping.yaml": [
        "not_a_mapping.yaml:2:1: the rules file must be a mapping of sections such as 'categories:' and "
        "'areas:', but it is a list",
    ],
    "duplicate_key.yaml": [
        "duplicate_key.yaml:7:36: duplicate key 'places' (already given on line 7); keep only one",
        "duplicate_key.yaml:8:3: duplicate key 'd' (already given on line 4); keep only one",
    ],
    "unknown_key.yaml": [
        "unknown_key.yaml:10:5: areas.g1: unknown key 'boundry' (did you mean 'boundary'?); "
        "expected one of kind, name, children, places, boundary, renamed_from",
    ],
    "bad_duration.yaml": [
        "bad_duration.yaml:5:21: categories.water.resolve_within: '4 hours' is not a time limit; "
        "write 30m, 2h, 3d, '8 working hours' or '2 working days'",
    ],
    "unknown_timezone.yaml": [
        "unknown_timezone.yaml:1:11: timezone: unknown time zone 'Asia/Shangai'; "
        "use an IANA name such as Asia/Shanghai",
    ],
    "unknown_team.yaml": [
        "unknown_team.yaml:15:25: routes[2].to: route goes to unknown team 'gaz-company'",
    ],
    "undefined_child.yaml": [
        "undefined_child.yaml:10:9: areas.c.children[1]: child 'g2' of 'c' is not defined under 'areas'",
    ],
    "two_parents.yaml": [
        "two_parents.yaml:7:40: areas.c2.children[1]: area 'g1' has two parents: 'c1' and 'c2'",
    ],
    "grid_without_places.yaml": [
        "grid_without_places.yaml:8:3: areas.g2: grid 'g2' has neither places nor a boundary; "
        "give at least one",
    ],
    "boundary_two_points.yaml": [
        "boundary_two_points.yaml:10:5: areas.g1.boundary: a boundary needs at least 3 [lon, lat] points, got 2",
    ],
    "missing_other.yaml": [
        "missing_other.yaml:1:1: categories: a category with id 'other' is required as the fallback",
    ],
    "keywords_string.yaml": [
        "keywords_string.yaml:4:15: categories.water.keywords: expected a list, got '水管 漏水 burst pipe'; "
        "write a list as [a, b, c] or as one '- item' per line",
    ],
    "bad_digest_time.yaml": [
        "bad_digest_time.yaml:2:7: digest.at: expected a time of day as \"HH:MM\" (for example \"08:30\"), "
        "got '8.30am'",
    ],
    "bad_kind.yaml": [
        "bad_kind.yaml:6:13: areas.c.kind: 'comunity' is not allowed; expected one of district, street, "
        "community, grid (did you mean 'community'?)",
    ],
    "many_errors.yaml": [
        "many_errors.yaml:2:33: defaults: unknown key 'claim_withn' (did you mean 'claim_within'?); expected "
        "one of resolve_within, claim_within, warn_at, auto_close_after, locate_within, reports_per_hour",
        "many_errors.yaml:5:13: escalation[1].after: 'soon' is not a duration; write a number and a unit: "
        "30s, 15m, 2h or 3d",
        "many_errors.yaml:8:5: categories.gas.name: missing required key 'en'",
        "many_errors.yaml:10:15: categories.gas.priority: 'critical' is not allowed; expected one of low, "
        "normal, urgent, emergency",
        "many_errors.yaml:16:71: areas.g1.boundary[1][1]: expected a number, got 'north'",
        "many_errors.yaml:18:16: routes[0].category: expected text or a list, got 7",
    ],
    # value errors and cross-references in one run; the misspelt kind and the bad list member are not
    # reported a second time as a wrong child kind or an unknown category
    "values_and_references.yaml": [
        "values_and_references.yaml:4:54: categories.water.resolve_within: '4 hours' is not a time limit; "
        "write 30m, 2h, 3d, '8 working hours' or '2 working days'",
        "values_and_references.yaml:8:43: areas.c.children[2]: child 'g3' of 'c' is not defined under 'areas'",
        "values_and_references.yaml:10:14: areas.g2.kind: 'gird' is not allowed; expected one of district, "
        "street, community, grid (did you mean 'grid'?)",
        "values_and_references.yaml:12:16: routes[0].category: route names unknown category 'gaz'",
        "values_and_references.yaml:12:25: routes[0].to: route goes to unknown team 'nobody'",
        "values_and_references.yaml:13:24: routes[1].category[1]: expected text, got 5",
    ],
    "missing_geojson.yaml": [
        "missing_geojson.yaml:1:18: boundaries_file: file 'nowhere.geojson' not found next to the rules file",
    ],
    "geojson_rules.yaml": [
        "bad_boundaries.geojson:7:55: areas.g1.boundary: a boundary needs at least 3 [lon, lat] points, got 2",
        "bad_boundaries.geojson:11:30: feature 1: area 'g2' also has a boundary in the rules file; "
        "give it in one place only",
        "bad_boundaries.geojson:16:30: feature 2: area 'g9' is not defined under 'areas' in the rules file",
    ],
}


def _issues(path: str | Path) -> list[str]:
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    return [str(issue) for issue in caught.value.issues]


def test_every_bad_file_has_an_expectation() -> None:
    assert sorted(p.name for p in BAD.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_rules_file_reports_exact_errors(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    assert _issues(name) == EXPECTED[name]


def test_issue_prints_as_file_line_col_message() -> None:
    issue = RuleIssue("rules.yaml", 3, 7, "something is wrong")
    assert str(issue) == "rules.yaml:3:7: something is wrong"
    error = RulesError([issue, RuleIssue("rules.yaml", 4, 1, "and this")])
    assert str(error) == "rules.yaml:3:7: something is wrong\nrules.yaml:4:1: and this"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert _issues(path) == [f"{path}: rules file not found"]  # no made-up line:col


def test_minimal_text_loads() -> None:
    rules = load_rules_text(MINIMAL, "inline.yaml")
    assert isinstance(rules, Rules)
    assert rules.grids == ["g1", "g2"]


def test_bundled_sample_loads_from_path_and_text() -> None:
    from_path = load_rules(SAMPLE)
    from_text = load_rules_text(SAMPLE.read_text(encoding="utf-8"), "routing_rules.yaml")
    assert from_path == from_text
    assert len(from_path.grids) >= 8


def test_error_in_sample_points_at_the_right_line() -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace("to: team:gas-company}", "to: team:gaz-company}", 1)
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if "team:gaz-company" in line)
    col = text.splitlines()[line_no - 1].index("team:gaz-company") + 1
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "routing_rules.yaml")
    assert [str(i) for i in caught.value.issues] == [
        f"routing_rules.yaml:{line_no}:{col}: routes[0].to: route goes to unknown team 'gaz-company'"
    ]


def test_union_member_with_deeper_error_reports_only_the_inner_value() -> None:
    text = MINIMAL + "routes:\n  - {category: [other, 5], to: grid}\n  - {to: grid}\n"
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml")
    assert [str(i) for i in caught.value.issues] == ["r.yaml:10:24: routes[0].category[1]: expected text, got 5"]


def test_unknown_top_level_key_suggests_the_closest() -> None:
    with pytest.raises(RulesError) as caught:
        load_rules_text("timezon: Asia/Shanghai\n" + MINIMAL, "r.yaml")
    (issue,) = caught.value.issues
    assert (issue.line, issue.col) == (1, 1)
    assert issue.message.startswith("unknown top-level key 'timezon' (did you mean 'timezone'?); expected one of ")


def test_cross_reference_errors_are_all_reported_in_line_order() -> None:
    text = MINIMAL.replace("children: [g1, g2]", "children: [g1, g2, g3, g4]") + (
        "routes:\n  - {category: gaz, to: team:nobody}\n  - {to: grid}\n"
    )
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml")
    assert [str(i) for i in caught.value.issues] == [
        "r.yaml:6:43: areas.c.children[2]: child 'g3' of 'c' is not defined under 'areas'",
        "r.yaml:6:47: areas.c.children[3]: child 'g4' of 'c' is not defined under 'areas'",
        "r.yaml:10:16: routes[0].category: route names unknown category 'gaz'",
        "r.yaml:10:25: routes[0].to: route goes to unknown team 'nobody'",
    ]


def test_an_invalid_catch_all_route_is_not_also_reported_missing() -> None:
    text = MINIMAL + "routes:\n  - {to: grid, area: [d]}\n"
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml")
    assert [str(i) for i in caught.value.issues] == ["r.yaml:10:16: routes[0].area: expected text, got a list"]


def test_an_area_without_kind_still_has_its_children_checked() -> None:
    text = MINIMAL.replace("c: {kind: community, children: [g1, g2]}", "c: {children: [g1, g2, g9]}")
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml")
    assert [str(i) for i in caught.value.issues] == [
        "r.yaml:6:3: areas.c: missing required key 'kind'",
        "r.yaml:6:26: areas.c.children[2]: child 'g9' of 'c' is not defined under 'areas'",
    ]


def _feature(area: str, ring: list[list[float]]) -> dict[str, object]:
    return {"type": "Feature", "properties": {"area": area}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_boundaries_file_is_merged_into_grids(tmp_path: Path) -> None:
    ring = [[113.1, 29.36], [113.2, 29.36], [113.2, 29.37], [113.1, 29.36]]
    other_half = [[113.1, 29.36], [113.1, 29.37], [113.2, 29.37], [113.1, 29.36]]  # clockwise; only touches g1
    geo = {"type": "FeatureCollection", "features": [_feature("g1", ring), _feature("g2", other_half)]}
    (tmp_path / "grids.geojson").write_text(json.dumps(geo), encoding="utf-8")
    (tmp_path / "rules.yaml").write_text("boundaries_file: grids.geojson\n" + MINIMAL, encoding="utf-8")
    rules = load_rules(tmp_path / "rules.yaml")
    # the closing point GeoJSON repeats is dropped, like an inline boundary
    assert rules.areas["g1"].boundary == [(113.1, 29.36), (113.2, 29.36), (113.2, 29.37)]
    assert rules.areas["g2"].boundary == [(113.1, 29.36), (113.1, 29.37), (113.2, 29.37)]
    assert rules.boundaries_file == "grids.geojson"


def test_bad_point_in_boundaries_file_names_that_file(tmp_path: Path) -> None:
    geo = (
        '{"type": "FeatureCollection", "features": [\n'
        '  {"type": "Feature", "properties": {"area": "g1"},\n'
        '   "geometry": {"type": "Polygon", "coordinates": [[[113.1, 29.36], [213.2, 29.36], [113.2, 29.37]]]}}\n'
        "]}\n"
    )
    (tmp_path / "grids.geojson").write_text(geo, encoding="utf-8")
    (tmp_path / "rules.yaml").write_text("boundaries_file: grids.geojson\n" + MINIMAL, encoding="utf-8")
    issues = _issues(tmp_path / "rules.yaml")
    geo_file = tmp_path / "grids.geojson"
    assert issues == [
        f"{geo_file}:3:52: areas.g1.boundary: point [213.2, 29.36] is not a [lon, lat] pair "
        "(lon -180..180, lat -90..90)"
    ]


def test_boundaries_file_that_is_not_json(tmp_path: Path) -> None:
    (tmp_path / "grids.geojson").write_text('{"type": "FeatureCollection",\n  "features": [,]}', encoding="utf-8")
    (tmp_path / "rules.yaml").write_text("boundaries_file: grids.geojson\n" + MINIMAL, encoding="utf-8")
    assert _issues(tmp_path / "rules.yaml") == [
        f"{tmp_path / 'grids.geojson'}:2:16: not valid JSON: Expecting value"
    ]


def test_boundaries_file_feature_must_be_a_polygon(tmp_path: Path) -> None:
    feature = {"type": "Feature", "properties": {"area": "g1"},
               "geometry": {"type": "Point", "coordinates": [113.1, 29.36]}}
    geo = {"type": "FeatureCollection", "features": [feature]}
    (tmp_path / "grids.geojson").write_text(json.dumps(geo, indent=1), encoding="utf-8")
    (tmp_path / "rules.yaml").write_text("boundaries_file: grids.geojson\n" + MINIMAL, encoding="utf-8")
    assert _issues(tmp_path / "rules.yaml") == [
        f"{tmp_path / 'grids.geojson'}:9:4: feature 0: expected a Polygon geometry"
    ]


# ---- gridbot rules check ----


def _cli() -> typer.Typer:
    app = typer.Typer()
    rules_cmd.register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps "rules" a sub-command rather than the whole app
        """Nothing."""

    return app


def test_cli_check_sample_succeeds_with_summary() -> None:
    result = CliRunner().invoke(_cli(), ["rules", "check", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert f"{SAMPLE}: OK" in result.output
    assert "3 streets, 6 communities, 12 grids" in result.output
    assert "categories: 14" in result.output
    assert "time zone: Asia/Shanghai" in result.output
    assert "digest: daily at 08:30" in result.output


def test_cli_check_bad_file_prints_every_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    result = CliRunner().invoke(_cli(), ["rules", "check", "many_errors.yaml"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == EXPECTED["many_errors.yaml"]


def test_cli_check_defaults_to_gridbot_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    monkeypatch.setenv("GRIDBOT_RULES", "duplicate_key.yaml")
    result = CliRunner().invoke(_cli(), ["rules", "check"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == EXPECTED["duplicate_key.yaml"]


def test_dates_that_do_not_exist_are_all_reported() -> None:
    text = MINIMAL + "working_hours:\n  holidays: [2026-02-30, 2026-13-01]\n"
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml")
    assert [str(i) for i in caught.value.issues] == [
        "r.yaml:10:14: '2026-02-30' is not a real date (day is out of range for month)",
        "r.yaml:10:26: '2026-13-01' is not a real date (month must be in 1..12)",
    ]


def test_unknown_yaml_tag() -> None:
    with pytest.raises(RulesError) as caught:
        load_rules_text(MINIMAL + "timezone: !zone Asia/Shanghai\n", "r.yaml")
    assert [str(i) for i in caught.value.issues] == [
        "r.yaml:9:11: YAML syntax error: could not determine a constructor for the tag '!zone'"
    ]
