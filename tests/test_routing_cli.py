"""``gridbot route``: human-readable and JSON output, the stdin JSON-lines mode, rules errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli import route_cmd

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("GRIDBOT_RULES", str(ROOT / "routing_rules.yaml"))
    app = typer.Typer()

    @app.callback()
    def _group() -> None:
        """Keep 'route' a sub-command."""

    route_cmd.register(app)
    return app


def test_human_readable(app: typer.Typer) -> None:
    result = runner.invoke(app, ["route", "樓道燈壞了 金鹗小区"])
    assert result.exit_code == 0, result.output
    assert "category: streetlight" in result.output
    assert "target: grid:taizimiao-1" in result.output
    assert "traditional→simplified" in result.output
    assert "routes[4]: {to: grid} → grid:taizimiao-1" in result.output


def test_json_with_point_and_home(app: typer.Typer) -> None:
    result = runner.invoke(app, ["route", "下水道堵了", "--lat", "29.361", "--lon", "113.120", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["category"], data["area"], data["target"]) == ("drainage", "qiaoxi-2", "team:water-company")
    assert data["explanation"]["location"]["source"] == "point"
    home = json.loads(runner.invoke(app, ["route", "楼道灯坏了", "--home", "yunmeng-2", "--json"]).stdout)
    assert (home["area"], home["location_source"]) == ("yunmeng-2", "home")


def test_missing_location_says_so(app: typer.Typer) -> None:
    result = runner.invoke(app, ["route", "水管暴了"])
    assert result.exit_code == 0
    assert "location needed" in result.output and "location: missing" in result.output


def test_stdin_json_lines(app: typer.Typer) -> None:
    lines = "\n".join([
        "水管爆了 金鹗小区",
        "",
        "burts pipe",
        json.dumps({"text": "gas leak", "lat": 29.353, "lon": 113.104}),
        json.dumps({"text": "拉圾没人收", "home": "liulin-2"}),
        "{not json, just a message about 垃圾}",
    ]) + "\n"
    result = runner.invoke(app, ["route", "-"], input=lines)
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == 5  # the blank line is skipped
    for obj in objects:
        assert {"category", "priority", "area", "target", "explanation"} <= obj.keys()
    summary = [(o["category"], o["area"], o["target"]) for o in objects]
    assert summary == [
        ("water", "taizimiao-1", "grid:taizimiao-1"),
        ("water", None, None),
        ("gas", "taizimiao-1", "team:gas-company"),
        ("garbage", "liulin-2", "grid:liulin-2"),
        ("garbage", None, None),
    ]
    assert objects[1]["explanation"]["category"]["matches"][0]["form"] == "fuzzy"


def test_stdin_applies_options_to_plain_lines(app: typer.Typer) -> None:
    result = runner.invoke(app, ["route", "-", "--home", "baishi-1"], input="下水道堵了\n")
    assert json.loads(result.stdout)["target"] == "team:water-company"


def test_bad_rules_file_exits_1_with_issues(app: typer.Typer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories: {}\nareas: {}\nbogus: 1\n", encoding="utf-8")
    result = runner.invoke(app, ["route", "水管", "--rules", str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml:" in result.output


def test_lat_without_lon_is_refused(app: typer.Typer) -> None:
    result = runner.invoke(app, ["route", "水管", "--lat", "29.3"])
    assert result.exit_code == 2
