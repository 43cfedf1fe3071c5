"""Renaming a grid id in the rules no longer orphans its tickets: ``rules check --db`` lists ids in use that
the rules drop, and ``renamed_from`` moves the stored ids (tickets, staff, groups, homes) with an event."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from cases.db import session_scope
from cases.models import GroupBinding, Person, RoleAssignment, Ticket, TicketEvent
from cases.renames import apply_renames, orphans, rename_problems
from cases.rules.loader import load_rules
from cases.rules.schema import Rules
from cases.services import tickets as svc
from cases.services.people import get_or_create_person, grant_role
from cli.main import app
from tests.harness import ROOT

OLD, NEW = "taizimiao-1", "taizimiao-east"


def renamed_rules(tmp_path: Path, *, declare: bool) -> Path:
    """The bundled rules with grid ``taizimiao-1`` renamed (and ``renamed_from`` declared or not)."""
    text = (ROOT / "routing_rules.yaml").read_text(encoding="utf-8").replace(OLD, NEW)
    if declare:
        text = text.replace(f"  {NEW}:\n    kind: grid\n", f"  {NEW}:\n    kind: grid\n    renamed_from: [{OLD}]\n")
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def seed(engine: Engine, rules: Rules, now: datetime) -> tuple[int, int]:
    with session_scope(engine) as s:
        worker = get_or_create_person(s, telegram_id=2001, name="王师傅", now=now)
        grant_role(s, person=worker, role="worker", scope=OLD, rules=rules, now=now)
        resident = get_or_create_person(s, telegram_id=1001, name="陈阿姨", now=now)
        resident.home_area = OLD
        s.add(GroupBinding(chat_id=-100, area=OLD, bound_by=worker.id, created_at=now))  # type: ignore[arg-type]
        ticket, _ = svc.open_ticket(s, rules=rules, reporter=resident, chat_id=1001, message_id=1, text="灯坏了",
                                    category="streetlight", priority="normal", area=OLD, target=f"grid:{OLD}",
                                    route_index=None, explanation={}, now=now)
        assert ticket.id is not None and worker.id is not None
        return ticket.id, worker.id


def test_renamed_from_moves_tickets_staff_groups_and_homes(engine: Engine, rules: Rules, now: datetime,
                                                           tmp_path: Path) -> None:
    tid, worker_id = seed(engine, rules, now)
    new_rules = load_rules(renamed_rules(tmp_path, declare=True))
    assert rename_problems(new_rules) == []
    with Session(engine) as s:
        [orphan] = orphans(s, new_rules)
    assert (orphan.kind, orphan.id, orphan.renamed_to) == ("area", OLD, NEW)
    assert orphan.uses == {"tickets": 1, "ticket targets": 1, "staff roles": 1, "group bindings": 1,
                           "residents' homes": 1}
    with session_scope(engine) as s:
        report = apply_renames(s, new_rules, now=now)
    assert report.tickets == {tid}
    with Session(engine) as s:
        ticket = s.get(Ticket, tid)
        assert ticket is not None and (ticket.area, ticket.target) == (NEW, f"grid:{NEW}")
        assert s.exec(select(RoleAssignment.scope).where(RoleAssignment.person_id == worker_id)).all() == [NEW]
        assert s.get(GroupBinding, -100).area == NEW  # type: ignore[union-attr]
        assert s.exec(select(Person.home_area).where(Person.telegram_id == 1001)).one() == NEW
        [event] = s.exec(select(TicketEvent).where(col(TicketEvent.kind) == "ids_renamed")).all()
        assert event.ticket_id == tid and ["area", "area", OLD, NEW] in event.data["renamed"]
        assert orphans(s, new_rules) == []
        # The worker's /queue finds the ticket again under the new id.
        assert [t.id for t in svc.list_tickets(s, rules=new_rules, scope=NEW, status="open")] == [tid]
    with session_scope(engine) as s:
        assert not apply_renames(s, new_rules, now=now).rows, "applying again changes nothing"


def test_rules_check_against_the_database_reports_dropped_ids(sqlite_url: str, rules: Rules, now: datetime,
                                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cases.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    seed(engine, rules, now)
    engine.dispose()
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", sqlite_url)
    dropped = CliRunner().invoke(app, ["rules", "check", str(renamed_rules(tmp_path, declare=False)), "--db"])
    assert dropped.exit_code == 1, dropped.output
    uses = "1 group bindings, 1 residents' homes, 1 staff roles, 1 ticket targets, 1 tickets"
    assert f"area '{OLD}' is in use ({uses})" in dropped.output
    declared = renamed_rules(tmp_path, declare=True)
    ok = CliRunner().invoke(app, ["rules", "check", str(declared), "--db"])
    assert ok.exit_code == 0, ok.output
    assert f"will be renamed to '{NEW}'" in ok.output
    monkeypatch.setenv("GRIDBOT_RULES", str(declared))
    applied = CliRunner().invoke(app, ["rules", "apply-renames"])
    assert applied.exit_code == 0 and "1 tickets" in applied.output, applied.output
    assert CliRunner().invoke(app, ["rules", "check", str(declared), "--db"]).exit_code == 0


def test_a_rename_from_an_id_still_defined_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "routing_rules.yaml").read_text(encoding="utf-8").replace(
        "  taizimiao-2:\n    kind: grid\n", f"  taizimiao-2:\n    kind: grid\n    renamed_from: [{OLD}]\n")
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    assert rename_problems(load_rules(path)) == [
        f"area 'taizimiao-2': renamed_from '{OLD}', but '{OLD}' is still defined"]
    result = CliRunner().invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 1


def test_the_bot_applies_declared_renames_when_it_starts(sqlite_url: str, rules: Rules, now: datetime,
                                                         tmp_path: Path) -> None:
    from bot.app import build_app
    from cases.db import make_engine, upgrade
    from cases.settings import Settings

    engine = make_engine(sqlite_url)
    upgrade(engine)
    tid, _ = seed(engine, rules, now)
    engine.dispose()
    settings = Settings(token="4242:TEST-token", database_url=sqlite_url,
                        rules=str(renamed_rules(tmp_path, declare=True)))
    app_ = build_app(settings, clock=lambda: now)
    try:
        with Session(app_.engine) as s:
            assert s.get(Ticket, tid).area == NEW  # type: ignore[union-attr]
    finally:
        app_.engine.dispose()
