"""Retention: processed updates and delivered messages go after ``keep``; pending work and the messages of
tickets still going stay; the bot runs it as a job and admins as ``gridbot db prune``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine, event
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.app import build_app
from cases.db import make_engine, session_scope, upgrade
from cases.models import InboxUpdate, OutboxMessage, Person, Ticket
from cases.retention import count_prunable, prune
from cases.settings import Settings
from cli import db_cmd

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
OLD, RECENT = NOW - timedelta(days=100), NOW - timedelta(days=10)
KEEP = timedelta(days=90)


def _seed(engine: Engine) -> None:
    """Inbox updates and outbox rows of every kind, old and recent; ticket 1 is closed, ticket 2 open."""
    with session_scope(engine) as s:
        resident = Person(telegram_id=1, name="resident", created_at=OLD)
        s.add(resident)
        s.flush()
        assert resident.id is not None
        for number, status in ((1, "closed"), (2, "open")):
            s.add(Ticket(id=number, status=status, category="other", target="grid:g1", reporter_id=resident.id,
                         chat_id=1, source_message_id=number, created_at=OLD, updated_at=OLD))
        for uid, (name, received, processed) in enumerate(
                (("old-done", OLD, OLD), ("recent-done", RECENT, RECENT), ("old-pending", OLD, None)), start=101):
            s.add(InboxUpdate(update_id=uid, chat_id=1, payload={"name": name}, received_at=received,
                              processed_at=processed))
        rows = [("old-sent", None, OLD, None), ("old-sent-closed-ticket", 1, OLD, None),
                ("old-sent-open-ticket", 2, OLD, None), ("old-failed", None, None, OLD),
                ("old-pending", None, None, None), ("recent-sent", None, RECENT, None)]
        for key, ticket, sent, failed in rows:
            s.add(OutboxMessage(chat_id=1, payload={"text": key}, dedupe_key=key, ticket_id=ticket, created_at=OLD,
                                not_before=OLD, sent_at=sent, failed_at=failed))


def _left(engine: Engine) -> tuple[list[str], list[str]]:
    with Session(engine) as s:
        inbox = sorted(u.payload["name"] for u in s.exec(select(InboxUpdate)))
        outbox = sorted(m.dedupe_key or "" for m in s.exec(select(OutboxMessage)))
    return inbox, outbox


def test_old_delivered_rows_go_and_the_rest_stays(engine: Engine) -> None:
    _seed(engine)
    assert count_prunable(engine, now=NOW, keep=KEEP).__dict__ == {"inbox": 1, "outbox": 3}
    pruned = prune(engine, now=NOW, keep=KEEP)
    assert (pruned.inbox, pruned.outbox) == (1, 3)
    assert _left(engine) == (["old-pending", "recent-done"],
                             ["old-pending", "old-sent-open-ticket", "recent-sent"])
    assert prune(engine, now=NOW, keep=KEEP).__dict__ == {"inbox": 0, "outbox": 0}  # nothing twice


def test_pruning_goes_in_short_batches(engine: Engine) -> None:
    _seed(engine)
    with session_scope(engine) as s:
        for n in range(7):
            s.add(OutboxMessage(chat_id=2, payload={}, dedupe_key=f"bulk-{n}", created_at=OLD, not_before=OLD,
                                sent_at=OLD))
    commits: list[int] = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    pruned = prune(engine, now=NOW, keep=KEEP, batch=2)
    assert (pruned.inbox, pruned.outbox) == (1, 10)
    assert len(commits) >= 5  # ten outbox rows, at most two of a kind per transaction
    assert "bulk-0" not in _left(engine)[1]


def test_a_bounded_run_leaves_the_rest_for_the_next(engine: Engine) -> None:
    _seed(engine)
    first = prune(engine, now=NOW, keep=KEEP, batch=1, max_batches=1)
    assert (first.inbox, first.outbox) == (1, 2)  # one row of each kind
    rest = prune(engine, now=NOW, keep=KEEP, batch=1)
    assert (rest.inbox, rest.outbox) == (0, 1)


def test_the_bot_prunes_every_hour(tmp_path: Path) -> None:
    settings = Settings(token="5300:retention", api_base_url="http://127.0.0.1:9/bot", keep_days=30,
                        database_url=f"sqlite:///{tmp_path / 'bot.db'}", rules=str(ROOT / "routing_rules.yaml"))
    app = build_app(settings)
    try:
        (job,) = [fn for name, seconds, fn in app.runtime.jobs if name == "retention" and seconds == 3600]
        _seed(app.engine)
        job(app.engine, NOW)  # keep_days=30: the recent (10 days) rows stay too
        assert _left(app.engine) == (["old-pending", "recent-done"],
                                     ["old-pending", "old-sent-open-ticket", "recent-sent"])
        job(app.engine, NOW + timedelta(days=25))
        assert _left(app.engine) == (["old-pending"], ["old-pending", "old-sent-open-ticket"])
    finally:
        app.engine.dispose()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    app = typer.Typer()
    db_cmd.register(app)
    return app


def test_db_prune_command(cli: typer.Typer, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    upgrade(engine)
    _seed(engine)
    # the seeded rows are 100 and 10 days older than NOW, which is today: the real clock is used
    shift = datetime.now(UTC) - NOW
    with session_scope(engine) as s:
        for m in s.exec(select(OutboxMessage)):
            m.sent_at = m.sent_at + shift if m.sent_at else None
            m.failed_at = m.failed_at + shift if m.failed_at else None
            s.add(m)
        for u in s.exec(select(InboxUpdate)):
            u.processed_at = u.processed_at + shift if u.processed_at else None
            s.add(u)
    engine.dispose()
    runner = CliRunner()
    dry = runner.invoke(cli, ["db", "prune", "--dry-run"])
    assert dry.exit_code == 0 and dry.stdout.strip() == \
        "would delete 1 inbox updates and 3 outbox messages older than 90 days"
    done = runner.invoke(cli, ["db", "prune", "--keep-days", "5"])
    assert done.exit_code == 0 and done.stdout.strip() == \
        "deleted 2 inbox updates and 4 outbox messages older than 5 days"
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        assert _left(engine) == (["old-pending"], ["old-pending", "old-sent-open-ticket"])
    finally:
        engine.dispose()
