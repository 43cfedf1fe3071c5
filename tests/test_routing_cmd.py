"""``gridbot routing evaluate`` and ``gridbot routing examples export``, and ``gridbot route`` with the
classifier, through the real command line (Typer runner)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from cases.db import make_engine, upgrade
from cases.models import RoutingExample
from cli.main import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRIDBOT_RULES", str(ROOT / "routing_rules.yaml"))
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'g.db'}")
    return tmp_path


def test_evaluate_a_labelled_file_prints_the_figures(env: Path) -> None:
    path = env / "mine.tsv"
    path.write_text("category\temergency\ttext\ngas\tyes\t樓道有瓦斯味\nstreetlight\tno\t路灯不亮了\n"
                    "noise\tno\t隔壁KTV吵到凌晨三点\n", encoding="utf-8")
    result = runner.invoke(app, ["routing", "evaluate", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 examples" in result.output and "emergency recall   100.0% (1/1)" in result.output
    assert "confusion (rows: labelled, columns: routed)" in result.output
    bad = env / "bad.tsv"
    bad.write_text("category\temergency\ttext\nfire\tno\tx\n", encoding="utf-8")
    result = runner.invoke(app, ["routing", "evaluate", str(bad)])
    assert result.exit_code == 1 and "bad.tsv:2: unknown category 'fire'" in result.output


def test_export_writes_the_learned_examples(env: Path) -> None:
    engine = make_engine(f"sqlite:///{env / 'g.db'}")
    upgrade(engine)
    with Session(engine) as session:
        session.add(RoutingExample(text="小区门口卖菜的占了人行道", category="vendor", source="staff",
                                   created_at=datetime(2026, 1, 1, tzinfo=UTC)))
        session.commit()
    engine.dispose()
    out = env / "local.tsv"
    result = runner.invoke(app, ["routing", "examples", "export", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines()[-2:] == ["category\temergency\ttext",
                                                                 "vendor\tno\t小区门口卖菜的占了人行道"]


def test_route_shows_the_classifier_in_chinese(env: Path) -> None:
    result = runner.invoke(app, ["route", "樓道有瓦斯味", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert "category: gas  priority: emergency" in result.output
    assert "分类器判断：燃气泄漏" in result.output and "按特急处理" in result.output
