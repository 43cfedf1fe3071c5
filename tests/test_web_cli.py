"""``gridbot apikey create|list|revoke``, ``gridbot web-login`` and ``gridbot db rebuild-figures`` against a real
SQLite file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import typer
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from cases import figures
from cases.db import make_engine, session_scope
from cases.models import ApiKey, WebLogin
from cases.rules.loader import load_rules
from cases.rules.schema import Rules
from cases.services import people
from cases.services.api_keys import authenticate
from cases.services.web_access import redeem_login
from cli import db_cmd, web_cmd

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("GRIDBOT_RULES", str(ROOT / "routing_rules.yaml"))
    monkeypatch.setenv("GRIDBOT_WEB_SECRET", "cli-secret")
    monkeypatch.setenv("GRIDBOT_WEB_URL", "https://console.example.org/")
    monkeypatch.delenv("GRIDBOT_TOKEN", raising=False)
    app = typer.Typer()
    for module in (db_cmd, web_cmd):
        module.register(app)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return app


def test_apikey_lifecycle(app: typer.Typer, tmp_path: Path) -> None:
    created = runner.invoke(app, ["apikey", "create", "--name", "hotline", "--area", "jineshan"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("o311_")
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with session_scope(engine) as s:
        [key] = s.exec(select(ApiKey)).all()
        assert key.key_hash != secret and secret not in key.key_hash and key.area == "jineshan"
        assert authenticate(s, secret).name == "hotline"
    listed = runner.invoke(app, ["apikey", "list"])
    assert "hotline" in listed.output and "active" in listed.output and secret not in listed.output
    assert runner.invoke(app, ["apikey", "create", "--name", "hotline"]).exit_code == 1
    assert "unknown area" in runner.invoke(app, ["apikey", "create", "--name", "x", "--area", "mars"]).output
    assert runner.invoke(app, ["apikey", "revoke", "--name", "hotline"]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["apikey", "list"]).output
    assert runner.invoke(app, ["apikey", "revoke", "--name", "nobody"]).exit_code == 1
    engine.dispose()


def test_web_login_prints_a_working_link_for_staff_only(app: typer.Typer, tmp_path: Path, rules: Rules,
                                                        now: datetime) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with session_scope(engine) as s:
        staff = people.get_or_create_person(s, telegram_id=5, name="Chief", now=now)
        people.grant_role(s, person=staff, role="supervisor", scope=rules.root, rules=rules, now=now)
        resident = people.get_or_create_person(s, telegram_id=6, name="Ms Chen", now=now)
        staff_id, resident_id = staff.id, resident.id
    printed = runner.invoke(app, ["web-login", "--person", str(staff_id)])
    assert printed.exit_code == 0, printed.output
    link = printed.stdout.strip()
    assert link.startswith("https://console.example.org/login/")
    with session_scope(engine) as s:
        assert s.exec(select(WebLogin)).one().token_hash not in link
        who = redeem_login(s, credential=link.rsplit("/", 1)[1], secret="cli-secret", now=datetime.now().astimezone())
        assert who.id == staff_id
    refused = runner.invoke(app, ["web-login", "--person", str(resident_id)])
    assert refused.exit_code == 1 and "staff" in refused.output
    assert runner.invoke(app, ["web-login", "--person", "999"]).exit_code == 1
    engine.dispose()


def test_rebuild_figures_puts_the_days_in_the_rules_zone(app: typer.Typer, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with session_scope(engine) as s:
        s.execute(text("UPDATE figure_day SET zone = 'UTC'"))  # as if built for another zone
        assert not figures.ready(s, load_rules(ROOT / "routing_rules.yaml"))
    done = runner.invoke(app, ["db", "rebuild-figures"])
    assert done.exit_code == 0, done.output
    assert "Asia/Shanghai" in done.output
    with session_scope(engine) as s:
        assert figures.ready(s, load_rules(ROOT / "routing_rules.yaml"))
    engine.dispose()
