"""The kept day figures (:mod:`cases.figures`, triggers of migration 0008) equal a recomputation from the
tickets after a seeded month of real service calls, and the KPIs read from them equal the direct ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import migrated_copy
from digest_reference import reference_digest
from kpi_reference import reference_by_worker
from sqlalchemy import Engine, text
from sqlmodel import Session

from cases import figures
from cases.db import make_engine, session_scope
from cases.digest import build_digest
from cases.kpi import closed_by_worker, overview
from cases.rules.loader import load_rules
from cases.rules.schema import Rules
from cases.seed import seed_month

ROOT = Path(__file__).resolve().parent.parent
END = datetime(2026, 3, 6, 0, 0, tzinfo=UTC)
DAY = date(2026, 3, 5)


def _rows(engine: Engine) -> set[tuple[Any, ...]]:
    """The non-zero rows of both tables (a row whose tickets all moved on stays, at zero)."""
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT day, area, category, worker, {', '.join(figures.COUNTERS)} "
                                 "FROM ticket_figures")).all()
        now = conn.execute(text(f"SELECT area, category, {', '.join(figures.NOW_COUNTERS)} FROM ticket_now")).all()
    return {(str(r[0]), *tuple(r[1:])) for r in rows if any(r[4:])} | {tuple(r) for r in now if any(r[2:])}


@pytest.fixture
def seeded(db_url: str) -> Iterator[tuple[Engine, Rules]]:
    """A database after a seeded month (its figures kept by the triggers as the services ran), built once per
    backend and copied for each test."""
    rules = load_rules(ROOT / "routing_rules.yaml")
    migrated_copy(db_url, "seeded-month", lambda engine: seed_month(engine, rules, end=END, days=30, per_day=8))
    engine = make_engine(db_url)
    yield engine, rules
    engine.dispose()


def test_kept_figures_equal_a_rebuild_after_a_seeded_month(seeded: tuple[Engine, Rules]) -> None:
    engine, rules = seeded
    with session_scope(engine) as session:  # the seed holds no report for review (flood holds do)
        session.execute(text("UPDATE ticket SET held = true WHERE id IN (SELECT id FROM ticket WHERE status = 'open')"))
    kept = _rows(engine)
    days = [r for r in kept if len(r) == 4 + len(figures.COUNTERS)]
    totals = [sum(r[4 + i] for r in days) for i in range(len(figures.COUNTERS))]
    totals += [sum(r[2 + i] for r in kept - set(days)) for i in range(len(figures.NOW_COUNTERS))]
    assert all(totals), str(totals)  # the month exercises every counter
    with session_scope(engine) as session:
        figures.rebuild(session, rules.timezone)
    assert _rows(engine) == kept


def test_changes_outside_the_services_are_kept_too(seeded: tuple[Engine, Rules]) -> None:
    """A rename (a bulk UPDATE), an update of unwatched columns and a deleted ticket keep the figures equal
    to a rebuild: the triggers see every write, not only the services'."""
    engine, rules = seeded
    grid = rules.grids[0]
    with session_scope(engine) as session:
        session.execute(text("UPDATE ticket SET area = 'renamed' WHERE area = :g"), {"g": grid})
        session.execute(text("UPDATE ticket SET escalation_level = escalation_level + 1"))
        session.execute(text("UPDATE ticket SET rating = 5 WHERE status = 'closed' AND rating IS NULL"))
        session.execute(text("INSERT INTO ticket (status, category, priority, area, target, explanation, "
                             "reporter_id, chat_id, source_message_id, text, created_at, updated_at, closed_at, "
                             "escalation_level, claim_reminders, warned, reopen_count, held) "
                             "SELECT 'closed', 'water', 'normal', 'g9', 'grid:g9', '{}', reporter_id, 1, -1, "
                             "'x', created_at, created_at, created_at, 0, 0, false, 0, false FROM ticket LIMIT 1"))
        session.execute(text("DELETE FROM ticket WHERE source_message_id = -1 AND chat_id = 1"))
    kept = _rows(engine)
    assert any(r[1] == "renamed" for r in kept)
    with session_scope(engine) as session:
        figures.rebuild(session, rules.timezone)
    assert _rows(engine) == kept


def test_kpis_from_the_figures_equal_the_direct_computation(seeded: tuple[Engine, Rules]) -> None:
    engine, rules = seeded
    community = next(a for a, spec in rules.areas.items() if spec.kind == "community")
    with Session(engine) as session:
        assert figures.ready(session, rules)
        for area in (rules.root, community):
            for day in (DAY, DAY - timedelta(days=9)):
                fast = build_digest(session, rules=rules, area=area, day=day, now=END).to_dict()
                slow = reference_digest(session, rules=rules, area=area, day=day, now=END).to_dict()
                for key in ("overdue_tickets", "p90_claim_seconds", "p90_resolve_seconds", "generated_at", "held"):
                    fast.pop(key)
                    slow.pop(key)
                assert fast == slow, (area, day)
                kept = {w: (c, t, r, s) for w, c, t, r, s in closed_by_worker(session, rules, area, day) if c}
                assert kept == reference_by_worker(session, rules, area, day)
        view = overview(session, rules=rules, area=rules.root, day=DAY, now=END)
        assert view.digest.closed_30d and view.workers and view.rated_30d


def test_readers_fall_back_to_the_tickets_in_another_zone(seeded: tuple[Engine, Rules]) -> None:
    """Rules naming a zone the figures are not kept in read the tickets (the same figures: Asia/Chongqing
    keeps Shanghai's days), until :func:`cases.figures.ensure` rebuilds them for it."""
    engine, rules = seeded
    other = rules.model_copy(update={"timezone": "Asia/Chongqing"})
    with Session(engine) as session:
        assert not figures.ready(session, other)
        direct = overview(session, rules=other, area=other.root, day=DAY, now=END)
        kept = overview(session, rules=rules, area=rules.root, day=DAY, now=END)
    assert (direct.digest.to_dict() | {"generated_at": ""}) == (kept.digest.to_dict() | {"generated_at": ""})
    assert (direct.workers, direct.cards, direct.previous) == (kept.workers, kept.cards, kept.previous)
    assert figures.ensure(engine, other) and not figures.ensure(engine, other)
    with Session(engine) as session:
        assert figures.ready(session, other) and figures.zone_of(session) == "Asia/Chongqing"
