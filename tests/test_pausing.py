"""Pausing a ticket that waits on the resident: the clock stops, resumes, and the history shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from test_sweep import RULES, T0, add_ticket, events, reload, seed_people, sweep

from cases.db import session_scope
from cases.models import Person, Ticket
from cases.services.pausing import PauseError, pause, resume

SH = ZoneInfo("Asia/Shanghai")


def ident(ticket: Ticket) -> int:
    assert ticket.id is not None
    return ticket.id


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH).astimezone(UTC)  # type: ignore[arg-type, misc]


def test_pause_stops_the_clock_and_resume_shifts_deadlines(engine: Engine) -> None:
    with session_scope(engine) as s:
        people = seed_people(s)
        tid = ident(add_ticket(s, RULES, people, status="claimed", holder="worker"))
    worker = people["worker"]
    with session_scope(engine) as s:
        pause(s, ticket_id=tid, actor=s.get(Person, worker.id), reason="asked which floor", rules=RULES,
              now=T0 + timedelta(hours=10))
    assert sweep(engine, T0 + timedelta(days=2))[1].sent == []  # nothing while paused
    with session_scope(engine) as s:
        resume(s, ticket_id=tid, actor=s.get(Person, worker.id), rules=RULES, now=T0 + timedelta(hours=34))
    ticket = reload(engine, tid)
    assert ticket.resolve_by is not None and ticket.warn_at is not None
    assert ticket.resolve_by.replace(tzinfo=UTC) == T0 + timedelta(hours=48)  # 24 h paused
    assert ticket.warn_at.replace(tzinfo=UTC) == T0 + timedelta(hours=24 * 0.8 + 24)
    assert ticket.paused_at is None and ticket.pause_reason is None
    [paused] = events(engine, tid, "paused")
    assert paused.note == "asked which floor"
    [resumed] = events(engine, tid, "resumed")
    assert resumed.data["paused_seconds"] == 24 * 3600
    assert sweep(engine, T0 + timedelta(hours=47, minutes=59))[1].kinds() == ["deadline_warning"]
    _, notifier = sweep(engine, T0 + timedelta(hours=48))
    assert {n.kind for _, n in notifier.sent} == {"escalated"}


def test_resume_in_working_time(engine: Engine) -> None:
    with session_scope(engine) as s:
        people = seed_people(s)
        opened = sh(2025, 3, 7, 15)  # Friday 15:00; 8 working hours: due Monday 14:00
        tid = ident(add_ticket(s, RULES, people, status="claimed", holder="worker", category="road", start=opened))
    assert reload(engine, tid).resolve_by.replace(tzinfo=UTC) == sh(2025, 3, 10, 14)  # type: ignore[union-attr]
    with session_scope(engine) as s:
        pause(s, ticket_id=tid, actor=None, reason="waiting for photos", rules=RULES, now=sh(2025, 3, 7, 17))
    with session_scope(engine) as s:  # the resident answers on Monday at 10:00: 2 working hours paused
        resume(s, ticket_id=tid, actor=s.get(Person, people["resident"].id), rules=RULES, now=sh(2025, 3, 10, 10))
    ticket = reload(engine, tid)
    assert ticket.resolve_by.replace(tzinfo=UTC) == sh(2025, 3, 10, 16)  # type: ignore[union-attr]
    [resumed] = events(engine, tid, "resumed")
    assert resumed.data["working_seconds"] == 2 * 3600
    assert resumed.data["paused_seconds"] == int((sh(2025, 3, 10, 10) - sh(2025, 3, 7, 17)).total_seconds())


def test_pause_errors(engine: Engine) -> None:
    with session_scope(engine) as s:
        people = seed_people(s)
        tid = ident(add_ticket(s, RULES, people, status="claimed", holder="worker"))
        resolved = ident(add_ticket(s, RULES, people, status="resolved", holder="worker", msg=2,
                              resolved_at=T0))
    with session_scope(engine) as s, pytest.raises(PauseError, match="not paused"):
        resume(s, ticket_id=tid, actor=None, rules=RULES, now=T0)
    with session_scope(engine) as s, pytest.raises(PauseError, match="only open or claimed"):
        pause(s, ticket_id=resolved, actor=None, reason="x", rules=RULES, now=T0)
    with session_scope(engine) as s:
        pause(s, ticket_id=tid, actor=None, reason="question", rules=RULES, now=T0)
    with session_scope(engine) as s, pytest.raises(PauseError, match="already paused"):
        pause(s, ticket_id=tid, actor=None, reason="again", rules=RULES, now=T0)
    with session_scope(engine) as s, pytest.raises(PauseError, match="say why"):
        pause(s, ticket_id=resolved, actor=None, reason="  ", rules=RULES, now=T0)


def test_only_staff_on_the_ticket_may_pause(engine: Engine) -> None:
    from cases.services.errors import PermissionDenied

    with session_scope(engine) as s:
        people = seed_people(s)
        tid = ident(add_ticket(s, RULES, people, status="claimed", holder="worker"))
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        pause(s, ticket_id=tid, actor=s.get(Person, people["other_worker"].id), reason="x", rules=RULES, now=T0)
    assert events(engine, tid, "paused") == []
