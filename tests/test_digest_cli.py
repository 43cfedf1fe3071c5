"""``gridbot digest`` previews and ``gridbot sweep --dry-run`` on a seeded SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_digest import seed_digest_fixture
from test_sweep import rules_data
from typer.testing import CliRunner

from cases.db import make_engine, session_scope, upgrade
from cli.main import app

NOW = "2025-03-06T08:30:00+08:00"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(json.dumps(rules_data()), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as s:
        seed_digest_fixture(s)
    engine.dispose()
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", url)
    monkeypatch.setenv("GRIDBOT_RULES", str(rules_file))
    monkeypatch.delenv("GRIDBOT_TOKEN", raising=False)
    return tmp_path


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_digest_json_and_text(env: Path) -> None:
    data = json.loads(run("digest", "--area", "d", "--date", "2025-03-05", "--now", NOW, "--format", "json"))
    assert (data["overdue"], data["new"], data["closed"]) == (2, 3, 2)
    text = run("digest", "--area", "s1", "--date", "2025-03-05", "--now", NOW, "--lang", "en")
    assert "New 2 · closed 2 · open 2 · overdue 1" in text
    # Default date: the day before --now, local time.
    assert json.loads(run("digest", "--area", "d", "--now", NOW, "--format", "json"))["day"] == "2025-03-05"


def test_digest_png_to_file(env: Path) -> None:
    out = env / "digest.png"
    run("digest", "--area", "d", "--now", NOW, "--format", "png", "--lang", "zh", "--output", str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    english = env / "digest-en.png"
    run("digest", "--area", "d", "--now", NOW, "--format", "png", "--lang", "en", "--output", str(english))
    assert english.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and english.read_bytes() != out.read_bytes()


def test_digest_unknown_area(env: Path) -> None:
    result = CliRunner().invoke(app, ["digest", "--area", "nowhere"])
    assert result.exit_code == 1 and "unknown area" in result.output


def test_sweep_dry_run_and_token_required(env: Path) -> None:
    out = run("sweep", "--dry-run", "--now", NOW)
    assert "would do" in out and "escalated" in out and "digest" in out
    assert run("sweep", "--dry-run", "--now", NOW) == out  # nothing was changed
    result = CliRunner().invoke(app, ["sweep", "--now", NOW])
    assert result.exit_code == 1 and "GRIDBOT_TOKEN" in result.output
