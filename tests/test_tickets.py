"""Ticket services: every action, its events, deadlines and the errors people see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from cases.clock import as_utc
from cases.deadlines import deadlines_for
from cases.models import Person, Role, Status, Ticket
from cases.rules.schema import Rules
from cases.services import people
from cases.services import tickets as svc
from cases.services.errors import InvalidInput, NotFound, PermissionDenied
from cases.states import TransitionError


@dataclass
class World:
    """A grid with its staff, a grid in another street, and two residents."""

    rules: Rules
    grid: str
    other_grid: str
    reporter: Person
    neighbour: Person
    worker: Person
    worker2: Person
    outsider: Person
    leader: Person
    supervisor: Person
    inspector: Person


def make_world(session: Session, rules: Rules, now: datetime) -> World:
    """People and roles around ``rules.grids[0]``; committed so other sessions see them."""
    grid = rules.grids[0]
    street = rules.ancestor_of_kind(grid, "street")
    other_grid = next(g for g in rules.grids if rules.ancestor_of_kind(g, "street") != street)
    community = rules.ancestor_of_kind(grid, "community")
    assert street and community

    def person(tid: int, name: str, role: Role | None = None, scope: str | None = None) -> Person:
        p = people.get_or_create_person(session, telegram_id=tid, name=name, now=now)
        if role is not None and scope is not None:
            people.grant_role(session, person=p, role=role, scope=scope, rules=rules, now=now)
        return p

    world = World(
        rules=rules, grid=grid, other_grid=other_grid,
        reporter=person(1, "Resident"), neighbour=person(2, "Neighbour"),
        worker=person(10, "Wang", Role.WORKER, grid), worker2=person(11, "Li", Role.WORKER, grid),
        outsider=person(12, "Zhao", Role.WORKER, other_grid),
        leader=person(20, "Leader", Role.LEADER, community),
        supervisor=person(30, "Chief", Role.SUPERVISOR, rules.root),
        inspector=person(40, "Inspector", Role.INSPECTOR, rules.root),
    )
    session.commit()
    return world


@pytest.fixture
def world(session: Session, rules: Rules, now: datetime) -> World:
    return make_world(session, rules, now)


def open_one(session: Session, w: World, now: datetime, message_id: int = 100, *, category: str = "water",
             target: str | None = "", reporter: Person | None = None, held: bool = False) -> Ticket:
    ticket, created = svc.open_ticket(
        session, rules=w.rules, reporter=reporter or w.reporter, chat_id=(reporter or w.reporter).telegram_id,
        message_id=message_id, text="水管爆了", category=category, priority="urgent", area=w.grid,
        target=f"grid:{w.grid}" if target == "" else target, route_index=1,
        explanation={"keyword": "水管"}, held=held, now=now,
    )
    assert created
    return ticket


def kinds(session: Session, ticket: Ticket) -> list[str]:
    assert ticket.id is not None
    return [e.kind for e in svc.history(session, ticket.id)]


def test_open_ticket_sets_deadlines_and_records_event(session: Session, world: World, now: datetime) -> None:
    ticket = open_one(session, world, now)
    expected = deadlines_for(world.rules, "water", now)
    assert ticket.status == Status.OPEN and ticket.opened_at == now
    assert (ticket.claim_by, ticket.resolve_by, ticket.warn_at) == (
        expected.claim_by, expected.resolve_by, expected.warn_at)
    assert ticket.next_due_at is not None and as_utc(ticket.next_due_at) <= as_utc(expected.resolve_by)
    assert ticket.escalation_level == 0 and ticket.explanation == {"keyword": "水管"}
    [event] = svc.history(session, ticket.id or 0)
    assert (event.kind, event.from_status, event.to_status, event.actor_id) == (
        "opened", None, "open", world.reporter.id)


def test_open_ticket_is_idempotent_per_message(session: Session, world: World, now: datetime) -> None:
    first = open_one(session, world, now)
    again, created = svc.open_ticket(
        session, rules=world.rules, reporter=world.reporter, chat_id=world.reporter.telegram_id, message_id=100,
        text="different", category="other", priority="normal", area=None, target=None, route_index=None,
        explanation={}, now=now + timedelta(minutes=1))
    assert not created and again.id == first.id and again.text == "水管爆了"
    assert kinds(session, first) == ["opened"]


def test_no_target_makes_a_draft_then_locate_opens_it(session: Session, world: World, now: datetime) -> None:
    draft = open_one(session, world, now, target=None)
    assert draft.status == Status.DRAFT and draft.claim_by is None and draft.target == ""
    later = now + timedelta(minutes=5)
    located = svc.locate(session, ticket_id=draft.id or 0, actor=world.reporter, rules=world.rules,
                         area=world.grid, target=f"grid:{world.grid}", route_index=2, now=later)
    assert located.status == Status.OPEN and located.opened_at == later
    assert located.resolve_by == deadlines_for(world.rules, "water", later).resolve_by
    assert kinds(session, located) == ["drafted", "locate"]
    with pytest.raises(TransitionError, match="it is open; only a draft ticket can be located"):
        svc.locate(session, ticket_id=draft.id or 0, actor=world.supervisor, rules=world.rules,
                   area=world.grid, target=f"grid:{world.grid}", now=later)


def test_full_lifecycle_history(session: Session, world: World, now: datetime) -> None:
    t = open_one(session, world, now)
    tid, r = t.id or 0, world.rules
    result = svc.claim(session, ticket_id=tid, worker=world.worker, rules=r, now=now + timedelta(minutes=1))
    assert result.won and result.holder is not None and result.holder.id == world.worker.id
    assert result.ticket.status == Status.CLAIMED and result.ticket.claimed_by == world.worker.id
    svc.add_note(session, ticket_id=tid, actor=world.worker, rules=r, text="on my way", now=now + timedelta(minutes=2))
    svc.add_note(session, ticket_id=tid, actor=world.worker, rules=r, text="valve shut", public=False,
                 now=now + timedelta(minutes=3))
    resolved = svc.resolve(session, ticket_id=tid, actor=world.worker, rules=r, note="pipe replaced",
                           photo_file_id="PHOTO", now=now + timedelta(hours=1))
    assert resolved.status == Status.RESOLVED and resolved.resolved_at == now + timedelta(hours=1)
    closed = svc.confirm(session, ticket_id=tid, actor=world.reporter, rules=r, now=now + timedelta(hours=2))
    assert closed.status == Status.CLOSED and closed.next_due_at is None
    rated = svc.rate(session, ticket_id=tid, actor=world.reporter, rules=r, stars=5, now=now + timedelta(hours=3))
    assert rated.rating == 5
    events = svc.history(session, tid)
    assert [e.kind for e in events] == ["opened", "claim", "note", "note", "resolve", "confirm", "rated"]
    assert [(e.from_status, e.to_status) for e in events if e.to_status] == [
        (None, "open"), ("open", "claimed"), ("claimed", "resolved"), ("resolved", "closed")]
    assert events[4].note == "pipe replaced" and events[4].data == {"photo_file_id": "PHOTO"}
    public = svc.history(session, tid, public_only=True)
    assert "valve shut" not in [e.note for e in public] and len(public) == len(events) - 1


def test_claim_loser_learns_the_holder(session: Session, world: World, now: datetime) -> None:
    t = open_one(session, world, now)
    assert svc.claim(session, ticket_id=t.id or 0, worker=world.worker, rules=world.rules, now=now).won
    lost = svc.claim(session, ticket_id=t.id or 0, worker=world.worker2, rules=world.rules, now=now)
    assert not lost.won and lost.holder is not None and lost.holder.name == "Wang"
    assert kinds(session, t) == ["opened", "claim"]


def test_release_and_transfer(session: Session, world: World, now: datetime) -> None:
    t = open_one(session, world, now)
    tid, r = t.id or 0, world.rules
    svc.claim(session, ticket_id=tid, worker=world.worker, rules=r, now=now)
    later = now + timedelta(hours=1)
    released = svc.release(session, ticket_id=tid, actor=world.worker, rules=r, reason="need a plumber", now=later)
    assert released.status == Status.OPEN and released.claimed_by is None
    assert released.claim_by == deadlines_for(r, "water", later).claim_by
    with pytest.raises(InvalidInput, match="reason"):
        svc.transfer(session, ticket_id=tid, actor=world.worker, rules=r, to_target=f"grid:{world.other_grid}",
                     reason=" ", now=later)
    moved = svc.transfer(session, ticket_id=tid, actor=world.worker, rules=r,
                         to_target=f"grid:{world.other_grid}", reason="wrong estate", now=later)
    assert moved.target == f"grid:{world.other_grid}" and moved.area == world.other_grid
    # Now outside the original worker's grid, inside the outsider's.
    with pytest.raises(PermissionDenied):
        svc.claim(session, ticket_id=tid, worker=world.worker, rules=r, now=later)
    assert svc.claim(session, ticket_id=tid, worker=world.outsider, rules=r, now=later).won
    assert kinds(session, t) == ["opened", "claim", "release", "transfer", "claim"]


def test_release_by_non_holder_is_refused(session: Session, world: World, now: datetime) -> None:
    t = open_one(session, world, now)
    svc.claim(session, ticket_id=t.id or 0, worker=world.worker, rules=world.rules, now=now)
    with pytest.raises(PermissionDenied, match="only the worker holding"):
        svc.release(session, ticket_id=t.id or 0, actor=world.worker2, rules=world.rules, now=now)
    with pytest.raises(PermissionDenied, match="only the worker holding"):
        svc.resolve(session, ticket_id=t.id or 0, actor=world.worker2, rules=world.rules, now=now)


def test_reassign(session: Session, world: World, now: datetime) -> None:
    t = open_one(session, world, now)
    tid, r = t.id or 0, world.rules
    svc.claim(session, ticket_id=tid, worker=world.worker, rules=r, now=now)
    with pytest.raises(InvalidInput, match="not a worker"):
        svc.reassign(session, ticket_id=tid, actor=world.leader, rules=r, to_worker=world.outsider, now=now)
    with pytest.raises(PermissionDenied):
        svc.reassign(session, ticket_id=tid, actor=world.worker, rules=r, to_worker=world.worker2, now=now)
    moved = svc.reassign(session, ticket_id=tid, actor=world.leader, rules=r, to_worker=world.worker2,
                         reason="Wang is off sick", now=now)
    assert moved.status == Status.CLAIMED and moved.claimed_by == world.worker2.id
    event = svc.history(session, tid)[-1]
    assert event.kind == "reassign" and event.data == {"from_worker": world.worker.id,
                                                       "to_worker": world.worker2.id}


def test_reopen_counts_rework_and_restarts_the_clock(session: Session, world: World, now: datetime) -> None:
    t = open_one(session, world, now)
    tid, r = t.id or 0, world.rules
    svc.claim(session, ticket_id=tid, worker=world.worker, rules=r, now=now)
    svc.resolve(session, ticket_id=tid, actor=world.worker, rules=r, now=now)
    later = now + timedelta(hours=3)
    reopened = svc.reopen(session, ticket_id=tid, actor=world.reporter, rules=r, reason="still leaking", now=later)
    assert reopened.status == Status.OPEN and reopened.reopen_count == 1
    assert reopened.claimed_by is None and reopened.resolved_at is None
    assert reopened.resolve_by == deadlines_for(r, "water", later).resolve_by
    with pytest.raises(TransitionError, match="only a resolved ticket can be reopened"):
        svc.reopen(session, ticket_id=tid, actor=world.leader, rules=r, now=later)


def test_rating_rules(session: Session, world: World, now: datetime) -> None:
    t = open_one(session, world, now)
    tid, r = t.id or 0, world.rules
    with pytest.raises(PermissionDenied, match="once it is resolved"):
        svc.rate(session, ticket_id=tid, actor=world.reporter, rules=r, stars=4, now=now)
    svc.claim(session, ticket_id=tid, worker=world.worker, rules=r, now=now)
    svc.resolve(session, ticket_id=tid, actor=world.worker, rules=r, now=now)
    with pytest.raises(InvalidInput, match="1 to 5"):
        svc.rate(session, ticket_id=tid, actor=world.reporter, rules=r, stars=6, now=now)
    with pytest.raises(PermissionDenied, match="only the resident"):
        svc.rate(session, ticket_id=tid, actor=world.leader, rules=r, stars=1, now=now)
    assert svc.rate(session, ticket_id=tid, actor=world.reporter, rules=r, stars=3, now=now).rating == 3
    with pytest.raises(PermissionDenied, match="already been rated"):
        svc.rate(session, ticket_id=tid, actor=world.reporter, rules=r, stars=5, now=now)
    assert svc.get(session, tid).rating == 3


def test_cancel_by_resident_and_by_supervisor(session: Session, world: World, now: datetime) -> None:
    r = world.rules
    mine = open_one(session, world, now, 1)
    cancelled = svc.cancel(session, ticket_id=mine.id or 0, actor=world.reporter, rules=r, now=now)
    assert cancelled.status == Status.CANCELLED and cancelled.closed_at == now
    claimed = open_one(session, world, now, 2)
    svc.claim(session, ticket_id=claimed.id or 0, worker=world.worker, rules=r, now=now)
    with pytest.raises(PermissionDenied, match="before a worker claims it"):
        svc.cancel(session, ticket_id=claimed.id or 0, actor=world.reporter, rules=r, now=now)
    with pytest.raises(InvalidInput, match="reason"):
        svc.cancel(session, ticket_id=claimed.id or 0, actor=world.supervisor, rules=r, now=now)
    done = svc.cancel(session, ticket_id=claimed.id or 0, actor=world.supervisor, rules=r,
                      reason="prank report", now=now)
    assert done.status == Status.CANCELLED
    assert svc.history(session, done.id or 0)[-1].note == "prank report"


def test_merge(session: Session, world: World, now: datetime) -> None:
    r = world.rules
    a, b, c = (open_one(session, world, now, n) for n in (1, 2, 3))
    with pytest.raises(TransitionError, match="into itself"):
        svc.merge(session, ticket_id=a.id or 0, into_id=a.id or 0, actor=world.leader, rules=r, now=now)
    with pytest.raises(PermissionDenied):
        svc.merge(session, ticket_id=a.id or 0, into_id=b.id or 0, actor=world.worker, rules=r, now=now)
    merged = svc.merge(session, ticket_id=a.id or 0, into_id=b.id or 0, actor=world.leader, rules=r,
                       reason="same burst pipe", now=now)
    assert merged.status == Status.MERGED and merged.merged_into == b.id
    assert kinds(session, b) == ["opened", "merged_in"]
    with pytest.raises(TransitionError, match="was itself merged"):
        svc.merge(session, ticket_id=c.id or 0, into_id=a.id or 0, actor=world.leader, rules=r, now=now)
    with pytest.raises(NotFound):
        svc.merge(session, ticket_id=c.id or 0, into_id=9999, actor=world.leader, rules=r, now=now)


def test_verify_and_auto_close(session: Session, world: World, now: datetime) -> None:
    r = world.rules
    tickets = [open_one(session, world, now, n) for n in (1, 2)]
    for t in tickets:
        svc.claim(session, ticket_id=t.id or 0, worker=world.worker, rules=r, now=now)
        svc.resolve(session, ticket_id=t.id or 0, actor=world.worker, rules=r, now=now)
    assert tickets[0].next_due_at is not None
    assert as_utc(tickets[0].next_due_at) == now + r.defaults.auto_close_after
    with pytest.raises(PermissionDenied, match="leader or supervisor"):
        svc.verify(session, ticket_id=tickets[0].id or 0, actor=world.worker, rules=r, now=now)
    assert svc.verify(session, ticket_id=tickets[0].id or 0, actor=world.leader, rules=r,
                      now=now).status == Status.CLOSED
    auto = svc.auto_close(session, ticket_id=tickets[1].id or 0, rules=r, now=now)
    assert auto.status == Status.CLOSED
    last = svc.history(session, auto.id or 0)[-1]
    assert last.kind == "auto_close" and last.actor_id is None


def test_amend_text_keeps_old_text_in_history(session: Session, world: World, now: datetime) -> None:
    t = open_one(session, world, now)
    svc.amend_text(session, ticket_id=t.id or 0, actor=world.reporter, rules=world.rules,
                   new_text="水管爆了，5栋2单元", now=now)
    assert svc.get(session, t.id or 0).text == "水管爆了，5栋2单元"
    event = svc.history(session, t.id or 0)[-1]
    assert event.kind == "edited" and event.data == {"old_text": "水管爆了"}
    with pytest.raises(PermissionDenied):
        svc.amend_text(session, ticket_id=t.id or 0, actor=world.neighbour, rules=world.rules, new_text="x",
                       now=now)


def test_recategorize_moves_deadlines(session: Session, world: World, now: datetime) -> None:
    t = open_one(session, world, now, category="other")
    changed = svc.recategorize(session, ticket_id=t.id or 0, actor=world.leader, rules=world.rules,
                               category="gas", priority="emergency", now=now + timedelta(minutes=3))
    assert (changed.category, changed.priority) == ("gas", "emergency")
    assert changed.resolve_by == deadlines_for(world.rules, "gas", now).resolve_by
    event = svc.history(session, t.id or 0)[-1]
    assert event.kind == "recategorized" and event.data["from"]["category"] == "other"
    with pytest.raises(InvalidInput, match="unknown category"):
        svc.recategorize(session, ticket_id=t.id or 0, actor=world.leader, rules=world.rules,
                         category="nope", priority="low", now=now)


def test_held_report_cannot_be_claimed_until_released(session: Session, world: World, now: datetime) -> None:
    t = open_one(session, world, now, held=True)
    with pytest.raises(PermissionDenied, match="held"):
        svc.claim(session, ticket_id=t.id or 0, worker=world.worker, rules=world.rules, now=now)
    svc.release_hold(session, ticket_id=t.id or 0, actor=world.leader, rules=world.rules, now=now)
    assert svc.claim(session, ticket_id=t.id or 0, worker=world.worker, rules=world.rules, now=now).won


def test_list_tickets_filters(session: Session, world: World, now: datetime) -> None:
    r = world.rules
    here = open_one(session, world, now, 1)
    there, _ = svc.open_ticket(
        session, rules=r, reporter=world.neighbour, chat_id=2, message_id=1, text="路灯坏了",
        category="other", priority="normal", area=world.other_grid, target=f"grid:{world.other_grid}",
        route_index=0, explanation={}, now=now)
    team = next(iter(r.teams))
    gas, _ = svc.open_ticket(
        session, rules=r, reporter=world.neighbour, chat_id=2, message_id=2, text="gas", category="gas",
        priority="emergency", area=world.grid, target=f"team:{team}", route_index=0, explanation={}, now=now)
    svc.claim(session, ticket_id=here.id or 0, worker=world.worker, rules=r, now=now)
    ids = lambda ts: {t.id for t in ts}  # noqa: E731
    community = r.ancestor_of_kind(world.grid, "community") or ""
    assert ids(svc.list_tickets(session, rules=r, scope=world.grid)) == {here.id, gas.id}
    assert ids(svc.list_tickets(session, rules=r, scope=community)) == {here.id, gas.id}
    assert ids(svc.list_tickets(session, rules=r, scope=r.root)) == {here.id, there.id, gas.id}
    assert ids(svc.list_tickets(session, rules=r, scope=f"team:{team}")) == {gas.id}
    assert ids(svc.list_tickets(session, rules=r, status="open")) == {there.id, gas.id}
    assert ids(svc.list_tickets(session, rules=r, reporter_id=world.neighbour.id)) == {there.id, gas.id}
    assert ids(svc.list_tickets(session, rules=r, claimed_by=world.worker.id)) == {here.id}
    assert [t.id for t in svc.list_tickets(session, rules=r, limit=2, newest_first=True)] == [gas.id, there.id]
    with pytest.raises(InvalidInput):
        svc.list_tickets(session, rules=r, scope="atlantis")


def test_get_unknown_ticket(session: Session) -> None:
    with pytest.raises(NotFound, match="#404"):
        svc.get(session, 404)


def test_possible_duplicate_is_a_recent_same_kind_report_of_the_same_grid(session: Session, rules: Rules,
                                                                           now: datetime) -> None:
    resident = people.get_or_create_person(session, telegram_id=77, name="r", now=now)
    grid, other_grid = rules.grids[0], rules.grids[1]

    def report(n: int, *, category: str = "streetlight", area: str = grid, hours_later: float = 0) -> Ticket:
        ticket, _ = svc.open_ticket(session, rules=rules, reporter=resident, chat_id=77, message_id=n, text=str(n),
                                    category=category, priority="normal", area=area, target=f"grid:{area}",
                                    route_index=0, explanation={}, now=now + timedelta(hours=hours_later))
        return ticket

    first = report(1)
    assert svc.possible_duplicate(session, first) is None
    assert svc.possible_duplicate(session, report(2, hours_later=3)) is not None
    assert svc.possible_duplicate(session, report(3, hours_later=3)).id == 2  # type: ignore[union-attr]  # the latest
    assert svc.possible_duplicate(session, report(4, category="garbage", hours_later=4)) is None
    assert svc.possible_duplicate(session, report(5, area=other_grid, hours_later=4)) is None
    assert svc.possible_duplicate(session, report(6, hours_later=60)) is None  # older than 48 h
    assert svc.possible_duplicate(session, report(7, category="other")) is None
    # 'other' is never compared
    assert svc.possible_duplicate(session, report(8, category="other", hours_later=1)) is None
