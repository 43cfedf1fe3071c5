"""`gridbot seed` makes a month of real history; `gridbot demo --keep` keeps its database, seeds it, says what
to try; the demo transcript prints each bot message under the step that caused it."""

from __future__ import annotations

import asyncio
import io
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cases.db import make_engine, session_scope, upgrade
from cases.models import Ticket, TicketEvent
from cases.rules.loader import load_rules
from cases.seed import seed_month
from cli.demo_story import play, seed_kept
from cli.main import app

ROOT = Path(__file__).resolve().parent.parent
END = datetime(2026, 3, 6, 0, 0, tzinfo=UTC)


def test_a_seeded_fortnight_has_tickets_in_every_state_with_real_history(tmp_path: Path) -> None:
    rules = load_rules(ROOT / "routing_rules.yaml")
    engine = make_engine(f"sqlite:///{tmp_path / 'seed.db'}")
    upgrade(engine)
    report = seed_month(engine, rules, end=END, days=14, per_day=8)
    with session_scope(engine) as session:
        tickets = session.exec(select(Ticket)).all()
        kinds = Counter(e.kind for e in session.exec(select(TicketEvent)).all())
        assert all(t.created_at.replace(tzinfo=UTC) <= END for t in tickets)
    engine.dispose()
    statuses = Counter(t.status for t in tickets)
    assert {"open", "claimed", "resolved", "closed", "cancelled", "merged"} <= set(statuses), statuses
    assert report.tickets == len(tickets) and dict(statuses) == report.by_status
    # the services and the sweep wrote the history: escalations, silence closing, rework, ratings, pauses
    for kind in ("opened", "claim", "resolve", "confirm", "rated", "reopen", "auto_closed", "escalated",
                 "merged_in", "paused", "resumed", "transfer"):
        assert kinds[kind] > 0, (kind, kinds)


def test_the_seed_command_fills_only_an_empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRIDBOT_RULES", str(ROOT / "routing_rules.yaml"))
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    first = runner.invoke(app, ["seed", "--database", url, "--days", "2", "--end", "2026-03-06T08:00+08:00"])
    assert first.exit_code == 0, first.output
    assert re.search(r"seeded .*cli\.db: \d+ tickets over 2 days", first.output)
    again = runner.invoke(app, ["seed", "--database", url, "--days", "2"])
    assert again.exit_code == 1 and "already has" in again.output


def _step(transcript: str, action: str) -> str:
    """What the transcript prints under the user step ``action``, up to the next step."""
    start = transcript.index(action)
    following = re.search(r"\n(👤|⚡|📋)", transcript[start + len(action):])
    return transcript[start: start + len(action) + (following.start() if following else len(transcript))]


def test_the_demo_prints_each_message_under_its_step_and_keeps_its_database(tmp_path: Path) -> None:
    out = io.StringIO()
    asyncio.run(play(out, tmp_path))
    db = tmp_path / "demo.db"
    seed_kept(out, db, days=2)
    transcript = out.getvalue()
    report = _step(transcript, "👤 陈阿姨 (resident): 我家水管爆了")
    assert "还不知道地点" in report and "直接共享位置" in report
    located = _step(transcript, "👤 陈阿姨 (resident): 📍 shares a location")
    assert located.count("🆕 新工单 #1") == 2 and "已受理，工单号 #1" in located
    assert "🤖 📍 → 王师傅 (worker): 太子庙社区第一网格 · " in located  # the venue pin, under its step
    claimed = _step(transcript, "⚡ 王师傅 and 李师傅 press")
    assert "认领，正在处理" in claimed and "慢了一步" in claimed
    assert db.exists() and f"export GRIDBOT_DATABASE_URL=sqlite:///{db.resolve()}" in transcript
    assert "gridbot digest --area" in transcript and "gridbot sweep --dry-run" in transcript
    assert "您的角色：社区负责人，范围：太子庙社区" in transcript, "a community leader is not a 网格长"
    with session_scope(make_engine(f"sqlite:///{db}")) as session:
        assert len(session.exec(select(Ticket)).all()) > 1
