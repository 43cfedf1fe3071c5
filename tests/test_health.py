"""``gridbot status``: the operator's view of the bot, from the database alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from cases import inbox, job_log, leader, outbox
from cases.clock import utcnow
from cases.db import make_engine, session_scope, upgrade
from cases.health import FAILED_MESSAGES_PER_HOUR, check_health, problems
from cases.models import Person, Ticket
from cli import status_cmd

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
SAMPLE_RULES = Path(__file__).resolve().parent.parent / "routing_rules.yaml"


def _update(uid: int, chat: int) -> dict[str, object]:
    return {"update_id": uid, "message": {"message_id": uid, "date": 0, "text": "x",
                                          "chat": {"id": chat, "type": "private"}}}


def test_a_healthy_bot(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert leader.try_acquire(s, holder="host:1:abc", ttl=30, now=NOW)
        inbox.store(s, [_update(1, 7)], now=NOW - timedelta(seconds=3))
        outbox.enqueue(s, chat_id=7, method="sendMessage", payload={"text": "hi"}, now=NOW - timedelta(seconds=2))
    with Session(engine) as s:
        health = check_health(s, now=NOW)
    assert (health.leader, health.leader_expires_in) == ("host:1:abc", 30.0)
    assert (health.inbox_waiting, health.inbox_oldest_age) == (1, 3.0)
    assert (health.outbox_waiting, health.outbox_oldest_due_age) == (1, 2.0)
    assert problems(health) == []


def test_what_an_operator_must_look_at(engine: Engine) -> None:
    long_ago = NOW - timedelta(minutes=20)
    with session_scope(engine) as s:
        assert leader.try_acquire(s, holder="host:1:abc", ttl=30, now=long_ago)
        inbox.store(s, [_update(1, 7), _update(2, 8)], now=long_ago)
        inbox.mark_processed(s, 2, now=NOW - timedelta(hours=2), error="boom")
        outbox.enqueue(s, chat_id=7, method="sendMessage", payload={"text": "hi"}, now=long_ago)
        failed = outbox.enqueue(s, chat_id=8, method="sendMessage", payload={"text": "x"}, now=long_ago)
        assert failed is not None and failed.id is not None
        outbox.mark_failed(s, failed.id, error="Forbidden: bot was blocked by the user", now=NOW)
        resident = Person(telegram_id=8, name="r", unreachable=True, created_at=long_ago)
        s.add(resident)
        s.flush()
        assert resident.id is not None
        for n, (status, resolve_by, held) in enumerate([("open", long_ago, False), ("claimed", NOW + timedelta(hours=1),
                                                        False), ("open", None, True), ("closed", long_ago, False)]):
            s.add(Ticket(status=status, category="other", target="grid:g1", reporter_id=resident.id, chat_id=8,
                         source_message_id=n, created_at=long_ago, updated_at=long_ago, resolve_by=resolve_by,
                         held=held))
    with Session(engine) as s:
        health = check_health(s, now=NOW)
    assert (health.inbox_waiting, health.inbox_given_up_recently) == (1, 1)
    assert (health.outbox_waiting, health.outbox_failed_recently, health.unreachable_people) == (1, 1, 1)
    assert (health.open_tickets, health.overdue_tickets, health.held_tickets) == (3, 1, 1)
    assert problems(health) == [
        "the leader lease of host:1:abc ran out 19m 30s ago: no bot process is handling updates",
        "the inbox makes no progress: 1 updates wait, the oldest for 20m, and none was handled in the last 1m",
        "the outbox makes no progress: 1 messages wait, the oldest due for 20m, and none was sent in the "
        "last 1m",
        "1 updates were given up on in the last day (see the logs; the residents were told)",
    ]


def test_a_live_leader_whose_inbox_or_outbox_stalls_for_a_minute_is_a_problem(engine: Engine) -> None:
    """The lease is renewed (the lease task lives) but the work loops stopped: flagged after a minute."""
    with session_scope(engine) as s:
        assert leader.try_acquire(s, holder="host:1:abc", ttl=30, now=NOW - timedelta(seconds=5))
        inbox.store(s, [_update(1, 7), _update(2, 7), _update(3, 8)], now=NOW - timedelta(seconds=90))
        inbox.mark_processed(s, 1, now=NOW - timedelta(seconds=85))
        for n in range(3):
            row = outbox.enqueue(s, chat_id=7, method="sendMessage", payload={"text": f"m{n}"},
                                 now=NOW - timedelta(seconds=80))
            assert row is not None and row.id is not None
            if n == 0:
                outbox.mark_sent(s, row.id, message_id=1, now=NOW - timedelta(seconds=75))
    with Session(engine) as s:
        health = check_health(s, now=NOW)
    assert (health.inbox_last_processed_age, health.outbox_last_sent_age) == (85.0, 75.0)
    assert problems(health) == [
        "the inbox makes no progress: 2 updates wait, the oldest for 1m 30s, and none was handled in the last 1m",
        "the outbox makes no progress: 2 messages wait, the oldest due for 1m 20s, and none was sent in the last 1m",
    ]
    # The same backlog while work goes on (one handled and one sent 10 s ago) is no problem yet.
    with session_scope(engine) as s:
        inbox.mark_processed(s, 2, now=NOW - timedelta(seconds=10))
        outbox.mark_sent_many(s, [(2, 2)], now=NOW - timedelta(seconds=10))
    with Session(engine) as s:
        assert problems(check_health(s, now=NOW)) == []
def test_more_than_a_few_messages_given_up_on_in_an_hour_is_a_problem(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert leader.try_acquire(s, holder="host:1:abc", ttl=30, now=NOW)
        for n in range(FAILED_MESSAGES_PER_HOUR + 3):
            row = outbox.enqueue(s, chat_id=100 + n, method="sendMessage", payload={"text": "x"}, now=NOW)
            assert row is not None and row.id is not None
            # the first three failed two hours ago: only the others count for the last hour
            outbox.mark_failed(s, row.id, error="Bad Request: chat not found",
                               now=NOW - timedelta(hours=2) if n < 3 else NOW - timedelta(minutes=n))
    with Session(engine) as s:
        health = check_health(s, now=NOW)
    assert (health.outbox_failed_recently, health.outbox_failed_last_hour) == (FAILED_MESSAGES_PER_HOUR + 3,
                                                                             FAILED_MESSAGES_PER_HOUR)
    assert problems(health) == [], "up to the threshold is not a problem"
    with session_scope(engine) as s:
        row = outbox.enqueue(s, chat_id=99, method="sendMessage", payload={"text": "x"}, now=NOW)
        assert row is not None and row.id is not None
        outbox.mark_failed(s, row.id, error="Forbidden: bot was blocked by the user", now=NOW)
    with Session(engine) as s:
        health = check_health(s, now=NOW)
    assert problems(health) == [f"{FAILED_MESSAGES_PER_HOUR + 1} messages were given up on in the last hour (more "
                                f"than {FAILED_MESSAGES_PER_HOUR}): see 'gave up on outbox message' in the bot's log"]


def status_app() -> typer.Typer:
    app = typer.Typer()
    status_cmd.register(app)
    app.command("noop")(lambda: None)  # a second command keeps typer's sub-command form
    return app


def test_status_command_and_its_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'status.db'}"
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", url)
    monkeypatch.setenv("GRIDBOT_RULES", str(SAMPLE_RULES))
    monkeypatch.chdir(tmp_path)
    app = status_app()
    runner = CliRunner()
    missing = runner.invoke(app, ["status", "--check"])
    assert missing.exit_code == 2 and "no database at" in missing.output and "gridbot db upgrade" in missing.output
    assert not (tmp_path / "status.db").exists(), "status creates no database"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    alone = runner.invoke(app, ["status", "--check"])
    assert alone.exit_code == 1
    assert "PROBLEM: no bot process holds the leader lease: is the bot running?" in alone.stdout
    engine = make_engine(url)
    with session_scope(engine) as s:
        assert leader.try_acquire(s, holder="host:2:def", ttl=60, now=utcnow())
    engine.dispose()
    healthy = runner.invoke(app, ["status", "--check"])
    assert healthy.exit_code == 0, healthy.stdout
    assert healthy.stdout.splitlines()[1].startswith("leader:   host:2:def (lease renewed, ")
    assert healthy.stdout.splitlines()[-1] == "all well"
    figures = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert figures["leader"] == "host:2:def" and figures["problems"] == [] and figures["open_tickets"] == 0


def test_a_job_that_fails_or_stops_running_is_a_problem(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert leader.try_acquire(s, holder="host:1:abc", ttl=30, now=NOW)
        job_log.started(s, name="sweep", interval=60, holder="host:1:abc", now=NOW - timedelta(minutes=30))
        job_log.finished(s, name="sweep", now=NOW - timedelta(minutes=30))
        job_log.started(s, name="retention", interval=3600, holder="host:1:abc", now=NOW - timedelta(minutes=5))
        job_log.finished(s, name="retention", now=NOW - timedelta(minutes=5), error="OperationalError: disk full")
    with Session(engine) as s:
        health = check_health(s, now=NOW)
    assert [(j.name, j.runs, j.failures, j.last_ok_age) for j in health.jobs] == [
        ("retention", 1, 1, None), ("sweep", 1, 0, 1800.0)]
    assert problems(health) == [
        "the last retention run failed: OperationalError: disk full",
        "sweep has not completed for 30m (it runs every 1m)",
    ]
    lines = status_cmd.render(health, "sqlite:///x.db")
    assert "job sweep: last ok 30m ago, runs every 1m; 1 runs, 0 failed" in lines
    assert any(line.startswith("job retention:") and "last run FAILED: OperationalError: disk full" in line
               for line in lines)
    with session_scope(engine) as s:  # the next sweep succeeds: all well again
        job_log.started(s, name="sweep", interval=60, holder="host:1:abc", now=NOW)
        job_log.finished(s, name="sweep", now=NOW)
        job_log.started(s, name="retention", interval=3600, holder="host:1:abc", now=NOW)
        job_log.finished(s, name="retention", now=NOW)
    with Session(engine) as s:
        assert problems(check_health(s, now=NOW)) == []


def test_status_reports_a_rules_file_that_would_not_load_or_lacks_this_years_holidays(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'status.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as s:
        assert leader.try_acquire(s, holder="host:2:def", ttl=60, now=utcnow())
    engine.dispose()
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", url)
    app = status_app()
    runner = CliRunner()

    broken = tmp_path / "broken.yaml"
    broken.write_text(SAMPLE_RULES.read_text(encoding="utf-8").replace("timezone: Asia/Shanghai",
                                                                        "timezone: Mars/Olympus"), encoding="utf-8")
    monkeypatch.setenv("GRIDBOT_RULES", str(broken))
    result = runner.invoke(app, ["status", "--check"])
    assert result.exit_code == 1
    assert f"PROBLEM: the rules file {broken} does not load (1 error): the bot will not start again until it " \
           "is fixed; run gridbot rules check" in result.stdout

    # The sample's working-day limits with no holidays listed at all: this year's are missing, whatever today is.
    text = SAMPLE_RULES.read_text(encoding="utf-8")
    start, end = text.index("  holidays:\n"), text.index("  extra_workdays:")
    no_holidays = tmp_path / "no_holidays.yaml"
    no_holidays.write_text(text[:start] + "  holidays: []\n" + text[end:], encoding="utf-8")
    monkeypatch.setenv("GRIDBOT_RULES", str(no_holidays))
    result = runner.invoke(app, ["status", "--check"])
    assert result.exit_code == 1
    year = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).year  # the rules' local year
    assert any(line.startswith("PROBLEM: working_hours.holidays (4 limits count working days) lists no public "
                               f"holidays for {year}:") for line in result.stdout.splitlines()), result.stdout
    figures = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert any(f"for {year}:" in p for p in figures["problems"]) and "warnings" in figures
