"""The deadline sweep with an injected clock: every deadline kind, outages, clock jumps, dry runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from cases import sweep as sweep_module
from cases.db import session_scope
from cases.deadlines import deadlines_for, next_due_at
from cases.models import Person, RoleAssignment, Ticket, TicketEvent
from cases.notify import RecordingNotifier
from cases.rules.schema import Rules
from cases.sweep import SweepReport, _active, _State, _Sweep, run_sweep, sweep_then_send_digests

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


def rules_data(**overrides: Any) -> dict[str, Any]:
    """The test district as plain data (also valid YAML when dumped as JSON)."""
    data: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "defaults": {"resolve_within": "24h", "claim_within": "2h", "warn_at": 0.8,
                     "auto_close_after": "3d", "locate_within": "30m"},
        "escalation": [{"after": "0h", "notify": "grid_leader"}, {"after": "4h", "notify": "street_supervisor"},
                       {"after": "24h", "notify": "district"}],
        "digest": {"at": "08:30", "to": ["street_supervisor", "district"]},
        "categories": {"other": {"name": {"zh": "其他", "en": "Other"}},
                       "road": {"name": {"zh": "道路", "en": "Road"}, "resolve_within": "8 working hours"}},
        "areas": {
            "d": {"kind": "district", "children": ["s1", "s2"]},
            "s1": {"kind": "street", "children": ["c1"]},
            "s2": {"kind": "street", "children": ["c2"]},
            "c1": {"kind": "community", "children": ["g1", "g2"]},
            "c2": {"kind": "community", "children": ["g3"]},
            "g1": {"kind": "grid", "places": ["one"]},
            "g2": {"kind": "grid", "places": ["two"]},
            "g3": {"kind": "grid", "places": ["three"]},
        },
    }
    data.update(overrides)
    return data


def make_rules(**overrides: Any) -> Rules:
    return Rules.model_validate(rules_data(**overrides))


RULES = make_rules()
PEOPLE = {  # name: (role, scope)
    "worker": ("worker", "g1"), "grid_leader": ("leader", "g1"), "community_leader": ("leader", "c1"),
    "street_sup": ("supervisor", "s1"), "district_sup": ("supervisor", "d"), "other_worker": ("worker", "g3"),
    "resident": (None, None),
}


def seed_people(session: Session) -> dict[str, Person]:
    people = {}
    for index, (name, (role, scope)) in enumerate(PEOPLE.items(), start=1):
        person = Person(telegram_id=1000 + index, name=name, created_at=T0)
        session.add(person)
        session.flush()
        assert person.id is not None
        if role and scope:
            session.add(RoleAssignment(person_id=person.id, role=role, scope=scope, created_at=T0))
        people[name] = person
    session.flush()
    return people


def add_ticket(session: Session, rules: Rules, people: dict[str, Person], *, status: str = "open",
               start: datetime = T0, area: str | None = "g1", target: str = "grid:g1",
               category: str = "other", holder: str | None = None, msg: int = 1, **extra: Any) -> Ticket:
    d = deadlines_for(rules, category, start)
    assert people["resident"].id is not None
    ticket = Ticket(status=status, category=category, area=area, target=target,
                    reporter_id=people["resident"].id, chat_id=1, source_message_id=msg, text="a leak",
                    created_at=start, updated_at=start, opened_at=None if status == "draft" else start,
                    claim_by=None if status == "draft" else d.claim_by,
                    resolve_by=None if status == "draft" else d.resolve_by,
                    warn_at=None if status == "draft" else d.warn_at,
                    claimed_by=people[holder].id if holder else None,
                    claimed_at=start if holder else None, **extra)
    ticket.next_due_at = next_due_at(rules, ticket)
    session.add(ticket)
    session.flush()
    return ticket


@pytest.fixture
def world(engine: Engine) -> Iterator[tuple[Engine, dict[str, Person]]]:
    with session_scope(engine) as s:
        people = seed_people(s)
    yield engine, people


def sweep(engine: Engine, at: datetime, rules: Rules = RULES, dry_run: bool = False
          ) -> tuple[SweepReport, RecordingNotifier]:
    notifier = RecordingNotifier()
    with session_scope(engine) as s:
        report = run_sweep(s, rules=rules, notifier=notifier, now=at, dry_run=dry_run, digests=False)
    return report, notifier


def events(engine: Engine, ticket_id: int | None, kind: str | None = None) -> list[TicketEvent]:
    with Session(engine) as s:
        query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)  # type: ignore[arg-type]
        return [e for e in s.exec(query).all() if kind is None or e.kind == kind]


def reload(engine: Engine, ticket_id: int | None) -> Ticket:
    with Session(engine) as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


def names(people: dict[str, Person], ids: list[int]) -> set[str]:
    by_id = {p.id: n for n, p in people.items()}
    return {by_id[i] for i in ids}


def test_claim_reminder_once_per_claim_period(world: tuple[Engine, dict[str, Person]]) -> None:
    engine, people = world
    with session_scope(engine) as s:
        tid = add_ticket(s, RULES, people).id
    assert sweep(engine, T0 + timedelta(hours=1, minutes=59))[1].sent == []
    report, notifier = sweep(engine, T0 + timedelta(hours=2))
    assert notifier.kinds() == ["claim_reminder"] * 3
    assert names(people, [pid for pid, _ in notifier.sent]) == {"worker", "grid_leader", "community_leader"}
    assert notifier.sent[0][1].data["reminder"] == 1 and notifier.sent[0][1].ticket_id == tid
    assert report.counts() == {"claim_reminder": 1}
    assert sweep(engine, T0 + timedelta(hours=3))[1].sent == []  # not again in the same period
    assert sweep(engine, T0 + timedelta(hours=4))[1].kinds() == ["claim_reminder"] * 3  # next period
    assert [e.data["reminder"] for e in events(engine, tid, "claim_reminder")] == [1, 2]
    assert reload(engine, tid).claim_reminders == 2


def test_holder_warned_once_at_warn_at(world: tuple[Engine, dict[str, Person]]) -> None:
    engine, people = world
    with session_scope(engine) as s:
        tid = add_ticket(s, RULES, people, status="claimed", holder="worker").id
    warn_at = T0 + timedelta(hours=24 * 0.8)
    assert sweep(engine, warn_at - timedelta(seconds=1))[1].sent == []
    _, notifier = sweep(engine, warn_at)
    assert [(pid, n.kind) for pid, n in notifier.sent] == [(people["worker"].id, "deadline_warning")]
    assert notifier.sent[0][1].data["remaining_seconds"] == int(timedelta(hours=24 * 0.2).total_seconds())
    assert sweep(engine, warn_at + timedelta(minutes=5))[1].sent == []
    assert reload(engine, tid).warned is True
    assert len(events(engine, tid, "deadline_warning")) == 1


def test_escalation_ladder_each_level_once(world: tuple[Engine, dict[str, Person]]) -> None:
    engine, people = world
    with session_scope(engine) as s:
        tid = add_ticket(s, RULES, people, status="claimed", holder="worker", warned=True).id
    resolve_by = T0 + timedelta(hours=24)
    expected = [(timedelta(0), 1, {"grid_leader", "community_leader"}),
                (timedelta(hours=4), 2, {"street_sup"}),
                (timedelta(hours=24), 3, {"district_sup"})]
    for offset, level, who in expected:
        assert sweep(engine, resolve_by + offset - timedelta(seconds=1))[1].sent == []
        _, notifier = sweep(engine, resolve_by + offset)
        assert set(notifier.kinds()) == {"escalated"}
        assert names(people, [pid for pid, _ in notifier.sent]) == who
        data = notifier.sent[0][1].data
        assert data["level"] == level
        assert data["overdue_seconds"] == int(offset.total_seconds())
        assert data["age_seconds"] == int((resolve_by + offset - T0).total_seconds())
        assert data["holder_name"] == "worker" and data["status"] == "claimed"
        assert sweep(engine, resolve_by + offset + timedelta(minutes=1))[1].sent == []
    assert [e.data["level"] for e in events(engine, tid, "escalated")] == [1, 2, 3]
    ticket = reload(engine, tid)
    assert ticket.escalation_level == 3 and ticket.next_due_at is None
    assert ticket.claimed_by == people["worker"].id  # escalation never changes the owner


def test_outage_then_sweep_three_days_later(world: tuple[Engine, dict[str, Person]]) -> None:
    engine, people = world
    with session_scope(engine) as s:
        tid = add_ticket(s, RULES, people, status="claimed", holder="worker").id
    later = T0 + timedelta(days=3)
    report, notifier = sweep(engine, later)
    # One escalated event per level, one notice per recipient naming the current level, no late warning.
    assert [e.data["level"] for e in events(engine, tid, "escalated")] == [1, 2, 3]
    assert events(engine, tid, "deadline_warning") == []
    assert set(notifier.kinds()) == {"escalated"}
    recipients = [pid for pid, _ in notifier.sent]
    assert len(recipients) == len(set(recipients))
    assert names(people, recipients) == {"grid_leader", "community_leader", "street_sup", "district_sup"}
    assert {n.data["level"] for _, n in notifier.sent} == {3}
    assert notifier.sent[0][1].data["levels"] == [1, 2, 3]
    assert report.counts() == {"escalated": 1}
    for extra in (timedelta(minutes=1), timedelta(days=1), timedelta(days=30)):
        assert sweep(engine, later + extra)[1].sent == []
    assert len(events(engine, tid, "escalated")) == 3


def test_clock_jumping_back_repeats_nothing(world: tuple[Engine, dict[str, Person]]) -> None:
    engine, people = world
    with session_scope(engine) as s:
        tid = add_ticket(s, RULES, people, status="claimed", holder="worker", warned=True).id
    resolve_by = T0 + timedelta(hours=24)
    assert sweep(engine, resolve_by + timedelta(hours=5))[1].kinds()  # levels 1 and 2
    assert sweep(engine, resolve_by - timedelta(hours=2))[1].sent == []  # clock jumped back
    assert sweep(engine, resolve_by + timedelta(hours=6))[1].sent == []
    assert [e.data["level"] for e in events(engine, tid, "escalated")] == [1, 2]
    _, notifier = sweep(engine, resolve_by + timedelta(hours=24))
    assert {n.data["level"] for _, n in notifier.sent} == {3}


def test_auto_close_after_quiet_days(world: tuple[Engine, dict[str, Person]]) -> None:
    engine, people = world
    resolved = T0 + timedelta(hours=5)
    with session_scope(engine) as s:
        tid = add_ticket(s, RULES, people, status="resolved", holder="worker", resolved_at=resolved).id
    assert sweep(engine, resolved + timedelta(days=3) - timedelta(seconds=1))[1].sent == []
    _, notifier = sweep(engine, resolved + timedelta(days=3))
    assert [(pid, n.kind) for pid, n in notifier.sent] == [(people["resident"].id, "auto_closed")]
    ticket = reload(engine, tid)
    assert ticket.status == "closed" and ticket.next_due_at is None
    [event] = events(engine, tid, "auto_closed")
    assert (event.from_status, event.to_status) == ("resolved", "closed")
    assert sweep(engine, resolved + timedelta(days=4))[1].sent == []


def test_unlocated_draft_goes_to_district_queue(world: tuple[Engine, dict[str, Person]]) -> None:
    engine, people = world
    with session_scope(engine) as s:
        tid = add_ticket(s, RULES, people, status="draft", area=None, target="").id
    assert sweep(engine, T0 + timedelta(minutes=29))[1].sent == []
    at = T0 + timedelta(minutes=30)
    _, notifier = sweep(engine, at)
    assert [(pid, n.kind) for pid, n in notifier.sent] == [(people["district_sup"].id, "unlocated_report")]
    ticket = reload(engine, tid)
    assert (ticket.status, ticket.target) == ("open", "area:d")
    assert ticket.resolve_by is not None and ticket.resolve_by.replace(tzinfo=UTC) == at + timedelta(hours=24)
    assert len(events(engine, tid, "sent_to_district")) == 1
    # Unclaimed there too: the district's people are reminded.
    _, notifier = sweep(engine, at + timedelta(hours=2))
    assert notifier.kinds() == ["claim_reminder"]
    assert names(people, [pid for pid, _ in notifier.sent]) == {"district_sup"}


def test_dry_run_changes_nothing(world: tuple[Engine, dict[str, Person]]) -> None:
    engine, people = world
    with session_scope(engine) as s:
        tid = add_ticket(s, RULES, people, status="claimed", holder="worker", warned=True).id
        add_ticket(s, RULES, people, status="draft", area=None, target="", msg=2)
    at = T0 + timedelta(hours=30)
    report, notifier = sweep(engine, at, dry_run=True)
    assert report.dry_run and notifier.sent == []
    assert report.counts() == {"escalated": 1, "unlocated_report": 1}
    assert any("escalated" in line for line in report.lines())
    assert events(engine, tid) == [] and reload(engine, tid).escalation_level == 0
    real, _ = sweep(engine, at)
    assert real.counts() == report.counts()


def test_paused_ticket_is_never_escalated(world: tuple[Engine, dict[str, Person]]) -> None:
    engine, people = world
    with session_scope(engine) as s:
        ticket = add_ticket(s, RULES, people, status="claimed", holder="worker", warned=True)
        tid = ticket.id
    with session_scope(engine) as s:  # paused behind the sweep's back, with a stale next_due_at
        t = s.get(Ticket, tid)
        assert t is not None
        t.paused_at = T0 + timedelta(hours=1)
        s.add(t)
    assert sweep(engine, T0 + timedelta(days=5))[1].sent == []
    assert events(engine, tid, "escalated") == []
    assert reload(engine, tid).next_due_at is None


def test_missing_next_due_is_repaired(world: tuple[Engine, dict[str, Person]]) -> None:
    engine, people = world
    with session_scope(engine) as s:
        ticket = add_ticket(s, RULES, people, status="claimed", holder="worker", warned=True)
        ticket.next_due_at = None
        s.add(ticket)
        tid = ticket.id
    assert sweep(engine, T0 + timedelta(hours=1))[1].sent == []
    assert reload(engine, tid).next_due_at is not None
    assert sweep(engine, T0 + timedelta(hours=24))[1].kinds()


def test_a_stale_snapshot_loses_the_conditional_update(world: tuple[Engine, dict[str, Person]]) -> None:
    engine, people = world
    with session_scope(engine) as s:
        tid = add_ticket(s, RULES, people, status="claimed", holder="worker", warned=True).id
    at = T0 + timedelta(hours=25)
    with Session(engine) as s:
        from cases.sweep import _COLUMNS, T
        stale = _State.from_row(s.execute(select(*_COLUMNS).where(T.c.id == tid)).one())
    sweep(engine, at)  # another process escalates first
    notifier = RecordingNotifier()
    with session_scope(engine) as s:
        racer = _Sweep(s, RULES, notifier, at, dry_run=False)
        _active(racer, stale)
        racer.flush_events()
    assert racer.report.conflicts == 1 and notifier.sent == []
    assert len(events(engine, tid, "escalated")) == 1


def test_resolving_stops_the_ladder(world: tuple[Engine, dict[str, Person]]) -> None:
    tickets = pytest.importorskip("cases.services.tickets")
    engine, people = world
    with session_scope(engine) as s:
        tid = add_ticket(s, RULES, people).id
    with session_scope(engine) as s:
        worker = s.get(Person, people["worker"].id)
        tickets.claim(s, ticket_id=tid, worker=worker, rules=RULES, now=T0 + timedelta(hours=1))
    resolve_by = T0 + timedelta(hours=24)
    assert sweep(engine, resolve_by)[1].kinds()  # level 1
    with session_scope(engine) as s:
        worker = s.get(Person, people["worker"].id)
        tickets.resolve(s, ticket_id=tid, actor=worker, rules=RULES, now=resolve_by + timedelta(hours=1))
    assert sweep(engine, resolve_by + timedelta(hours=30))[1].sent == []
    assert len(events(engine, tid, "escalated")) == 1
    _, notifier = sweep(engine, resolve_by + timedelta(hours=1, days=3))
    assert notifier.kinds() == ["auto_closed"]


def test_the_bots_sweep_commits_a_batch_at_a_time(world: tuple[Engine, dict[str, Person]],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    engine, people = world
    with session_scope(engine) as s:
        ids = [add_ticket(s, RULES, people, status="claimed", holder="worker", msg=n).id for n in range(5)]
    monkeypatch.setattr(sweep_module, "JOB_BATCH", 2)
    commits: list[int] = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    later = T0 + timedelta(days=3)
    report = sweep_then_send_digests(engine, rules=RULES, notifier=RecordingNotifier(), now=later)
    assert report.counts() == {"escalated": 5, "digest": 2} and report.examined == 5
    assert len(commits) == 4 + 1  # 2 + 2 + 1 tickets and an empty look; the two digests in one batch
    for tid in ids:
        assert [e.data["level"] for e in events(engine, tid, "escalated")] == [1, 2, 3]
    again = sweep_then_send_digests(engine, rules=RULES, notifier=RecordingNotifier(), now=later)
    assert again.counts() == {}
