"""The admin commands: db upgrade, invite, tickets list/show/export, against a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlmodel import select
from typer.testing import CliRunner

from cases.db import make_engine, session_scope
from cases.models import Invite, Ticket
from cases.rules.schema import Rules
from cases.services import people
from cases.services import tickets as svc
from cli import db_cmd, invite_cmd, tickets_cmd

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("GRIDBOT_RULES", str(ROOT / "routing_rules.yaml"))
    app = typer.Typer()
    for module in (db_cmd, invite_cmd, tickets_cmd):
        module.register(app)
    return app


@pytest.fixture
def seeded(app: typer.Typer, tmp_path: Path, rules: Rules, now: datetime) -> list[int]:
    """Two tickets in the CLI's database: one claimed with a note, one open elsewhere."""
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    grid, other = rules.grids[0], rules.grids[-1]
    with session_scope(engine) as s:
        resident = people.get_or_create_person(s, telegram_id=1, name="Ms Chen", now=now)
        worker = people.get_or_create_person(s, telegram_id=2, name="Wang", now=now)
        people.grant_role(s, person=worker, role="worker", scope=grid, rules=rules, now=now)
        a, _ = svc.open_ticket(s, rules=rules, reporter=resident, chat_id=1, message_id=1, text="水管爆了, 5栋",
                               category="water", priority="urgent", area=grid, target=f"grid:{grid}",
                               route_index=0, explanation={}, now=now)
        svc.claim(s, ticket_id=a.id or 0, worker=worker, rules=rules, now=now)
        svc.add_note(s, ticket_id=a.id or 0, actor=worker, rules=rules, text="valve closed", now=now)
        b, _ = svc.open_ticket(s, rules=rules, reporter=resident, chat_id=1, message_id=2, text="路灯不亮",
                               category="other", priority="normal", area=other, target=f"grid:{other}",
                               route_index=0, explanation={}, now=now)
    engine.dispose()
    return [a.id or 0, b.id or 0]


def test_db_upgrade(app: typer.Typer, tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "schema is up to date" in result.output and (tmp_path / "cli.db").exists()


def test_invite_prints_a_code_that_redeems(app: typer.Typer, tmp_path: Path, rules: Rules, now: datetime) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["invite", "--role", "worker", "--area", rules.grids[0], "--expires", "2d"])
    assert result.exit_code == 0, result.output
    code = result.stdout.splitlines()[0]
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}", code)
    assert f"/join {code}" in result.output
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with session_scope(engine) as s:
        assert code not in s.exec(select(Invite)).one().code_hash
        person = people.get_or_create_person(s, telegram_id=9, name="new", now=datetime.now(now.tzinfo))
        assert people.redeem_invite(s, code=code, person=person, now=datetime.now(now.tzinfo)).role == "worker"
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "worker", "--area", "atlantis"], "unknown area"),
        (["--role", "king", "--area", "x"], "king"),
        (["--role", "worker", "--area", "x", "--expires", "soon"], "not a duration"),
    ],
)
def test_invite_rejects_bad_input(app: typer.Typer, args: list[str], message: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["invite", *args])
    assert result.exit_code != 0 and message in result.output


def test_tickets_list(app: typer.Typer, seeded: list[int], rules: Rules) -> None:
    result = runner.invoke(app, ["tickets", "list"])
    assert result.exit_code == 0, result.output
    assert f"#{seeded[0]}" in result.output and f"#{seeded[1]}" in result.output and "2 tickets" in result.output
    only_open = runner.invoke(app, ["tickets", "list", "--status", "open"])
    assert f"#{seeded[1]}" in only_open.output and f"#{seeded[0]} " not in only_open.output
    here = runner.invoke(app, ["tickets", "list", "--area", rules.grids[0]])
    assert "Wang" in here.output and "1 ticket" in here.output
    bad = runner.invoke(app, ["tickets", "list", "--status", "lost"])
    assert bad.exit_code != 0 and "unknown status" in bad.output


def test_tickets_show_with_history(app: typer.Typer, seeded: list[int]) -> None:
    result = runner.invoke(app, ["tickets", "show", f"#{seeded[0]}"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "claimed" in out and "水管爆了" in out and "Ms Chen" in out
    history = out.split("History:")[1]
    assert history.index("reported by Ms Chen") < history.index("claimed (open → claimed) by Wang") < history.index(
        "note by Wang: valve closed")
    assert "∅" not in history and "None" not in history
    missing = runner.invoke(app, ["tickets", "show", "999"])
    assert missing.exit_code == 1 and "no ticket #999" in missing.output


def test_tickets_export_csv_and_json(app: typer.Typer, seeded: list[int], tmp_path: Path) -> None:
    result = runner.invoke(app, ["tickets", "export", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("\ufeffnumber,"), "Excel reads a CSV as UTF-8 only after a byte-order mark"
    rows = list(csv.DictReader(io.StringIO(result.stdout.removeprefix("\ufeff"))))
    assert [int(r["number"]) for r in rows] == seeded and rows[0]["holder"] == "Wang"
    out = tmp_path / "tickets.json"
    result = runner.invoke(app, ["tickets", "export", "--format", "json", "--output", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [d["number"] for d in data] == seeded and data[0]["text"] == "水管爆了, 5栋"
    assert [h["kind"] for h in data[0]["history"]] == ["opened", "claim", "note"]


def test_tickets_export_xlsx_has_the_csv_rows(app: typer.Typer, seeded: list[int], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "tickets.xlsx"
    result = runner.invoke(app, ["tickets", "export", "--format", "xlsx", "--output", str(out)])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out, read_only=True).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    rows = [r + [None] * (len(rows[0]) - len(r)) for r in rows]  # trailing empty cells are not stored
    csv_rows = list(csv.reader(io.StringIO(runner.invoke(app, ["tickets", "export"]).stdout.removeprefix("\ufeff"))))
    assert rows[0] == csv_rows[0]
    assert [r[0] for r in rows[1:]] == seeded and rows[1][rows[0].index("text")] == "水管爆了, 5栋"
    assert [[str(v) if v is not None else "" for v in r] for r in rows[1:]] == csv_rows[1:]
    assert not (tmp_path / "tickets.xlsx.partial").exists()
    to_terminal = runner.invoke(app, ["tickets", "export", "--format", "xlsx"])
    assert to_terminal.exit_code == 2 and "--output" in to_terminal.output


def _more_tickets(tmp_path: Path, rules: Rules, now: datetime, count: int) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        with session_scope(engine) as s:
            resident = people.get_or_create_person(s, telegram_id=3, name="Mr Li", now=now)
            for n in range(count):
                svc.open_ticket(s, rules=rules, reporter=resident, chat_id=3, message_id=100 + n, text=f"第{n}件\n二行",
                                category="other", priority="normal", area=rules.grids[1],
                                target=f"grid:{rules.grids[1]}", route_index=0, explanation={}, now=now)
    finally:
        engine.dispose()


def test_tickets_export_streams_in_batches_with_the_same_output(
        app: typer.Typer, seeded: list[int], tmp_path: Path, rules: Rules, now: datetime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _more_tickets(tmp_path, rules, now, 5)
    whole = {fmt: runner.invoke(app, ["tickets", "export", "--format", fmt]).stdout
             for fmt in ("csv", "json", "open311")}
    monkeypatch.setattr(tickets_cmd, "EXPORT_BATCH", 2)  # 7 tickets: batches of 2, 2, 2, 1
    for fmt, expected in whole.items():
        streamed = runner.invoke(app, ["tickets", "export", "--format", fmt])
        assert streamed.exit_code == 0 and streamed.stdout == expected, fmt
    data = json.loads(whole["json"])
    assert [d["number"] for d in data] == list(range(1, 8))
    assert whole["json"] == json.dumps(data, ensure_ascii=False, indent=2) + "\n"  # as one json.dumps writes it
    assert [h["kind"] for h in data[0]["history"]] == ["opened", "claim", "note"]
    assert all([h["kind"] for h in d["history"]] == ["opened"] for d in data[1:])
    empty = runner.invoke(app, ["tickets", "export", "--format", "json", "--status", "resolved"])
    assert empty.stdout == "[]\n"


def test_tickets_export_only_reads_and_writes_its_file_whole(
        app: typer.Typer, seeded: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[str] = []
    real_names = tickets_cmd._names

    def names_then_write(session: Any, ids: Any) -> dict[int, str]:
        # The bot commits a write while the export is reading: it must not wait for the export.
        other = sqlite3.connect(tmp_path / "cli.db", timeout=0.5, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE ticket SET rating = 5 WHERE id = ?", (seeded[1],))
            other.execute("COMMIT")
            writes.append("committed")
        finally:
            other.close()
        return real_names(session, ids)

    monkeypatch.setattr(tickets_cmd, "_names", names_then_write)
    out = tmp_path / "tickets.csv"
    out.write_text("the previous export\n", encoding="utf-8")
    result = runner.invoke(app, ["tickets", "export", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert writes == ["committed"] and out.read_text(encoding="utf-8-sig").startswith("number,status,")

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(tickets_cmd, "service_request", broken)
    failed = runner.invoke(app, ["tickets", "export", "--format", "open311", "--output", str(out)])
    assert failed.exit_code != 0 and isinstance(failed.exception, RuntimeError)
    assert out.read_text(encoding="utf-8-sig").startswith("number,status,"), "the previous file is untouched"
    assert not (tmp_path / "tickets.csv.partial").exists()


def test_tickets_export_open311(app: typer.Typer, seeded: list[int], rules: Rules, now: datetime,
                                tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        with session_scope(engine) as s:
            leader = people.get_or_create_person(s, telegram_id=9, name="Zhang", now=now)
            people.grant_role(s, person=leader, role="supervisor", scope=rules.root, rules=rules, now=now)
            svc.merge(s, ticket_id=seeded[1], into_id=seeded[0], actor=leader, rules=rules, now=now)
    finally:
        engine.dispose()
    result = runner.invoke(app, ["tickets", "export", "--format", "open311", "--lang", "en"])
    assert result.exit_code == 0, result.output
    claimed, merged = json.loads(result.stdout)
    assert claimed["service_request_id"] == str(seeded[0]) and claimed["status"] == "open"
    assert (claimed["status_notes"], claimed["service_code"], claimed["service_name"]) == \
        ("being handled", "water", rules.category_name("water", "en"))
    assert claimed["description"] == "水管爆了, 5栋" and claimed["address_id"] == rules.grids[0]
    assert claimed["requested_datetime"].endswith("+08:00")  # the rules' time zone
    assert (merged["status"], merged["status_notes"]) == ("closed", f"merged into {seeded[0]}, the same problem")
    assert "Ms Chen" not in result.output and "Wang" not in result.output  # nobody's name


def test_db_backup_copies_a_consistent_snapshot_while_a_write_is_under_way(
        app: typer.Typer, seeded: list[int], tmp_path: Path, rules: Rules, now: datetime) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    copy = tmp_path / "backup" / "copy.db"
    copy.parent.mkdir()
    try:
        with session_scope(engine) as s:  # the bot is in the middle of opening a third ticket
            resident = people.get_or_create_person(s, telegram_id=1, name="Ms Chen", now=now)
            svc.open_ticket(s, rules=rules, reporter=resident, chat_id=1, message_id=3, text="第三个", category="other",
                            priority="normal", area=None, target=None, route_index=None, explanation={}, now=now)
            s.flush()
            result = runner.invoke(app, ["db", "backup", str(copy)])
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"backed up {tmp_path / 'cli.db'} to {copy} (") and "2 tickets" in result.stdout
    finally:
        engine.dispose()
    backup = make_engine(f"sqlite:///{copy}")
    try:
        with session_scope(backup) as s:
            assert sorted(t.source_message_id for t in s.exec(select(Ticket))) == [1, 2]
    finally:
        backup.dispose()
    again = runner.invoke(app, ["db", "backup", str(copy)])
    assert again.exit_code == 1 and "exists; pass --force" in again.output
    assert runner.invoke(app, ["db", "backup", str(copy), "--force"]).exit_code == 0
    assert not (copy.parent / "copy.db.partial").exists()


def test_db_backup_points_postgresql_at_pg_dump(app: typer.Typer, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", "postgresql://gridbot:secret@db.example/gridbot")
    result = runner.invoke(app, ["db", "backup", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "back PostgreSQL up with pg_dump" in result.output
    assert "secret" not in result.output
