"""Authorization matrix: scope, roles and residents' privacy, checked through ``can`` and the services."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import Session
from test_tickets import World, make_world, open_one

from cases.models import Person, Ticket
from cases.rules.schema import Rules
from cases.services import people
from cases.services import tickets as svc
from cases.services.authz import Perm, can, can_view, require
from cases.services.errors import PermissionDenied

STAFF_CHANGES = [Perm.CLAIM, Perm.NOTE, Perm.TRANSFER, Perm.REASSIGN, Perm.CANCEL, Perm.MERGE, Perm.VERIFY]


@pytest.fixture
def world(session: Session, rules: Rules, now: datetime) -> World:
    return make_world(session, rules, now)


@pytest.fixture
def ticket(session: Session, world: World, now: datetime) -> Ticket:
    return open_one(session, world, now)


def allowed(session: Session, w: World, who: Person, t: Ticket) -> set[Perm]:
    return {p for p in Perm if can(session, w.rules, who, p, t)}


def test_worker_in_scope(session: Session, world: World, ticket: Ticket) -> None:
    assert allowed(session, world, world.worker, ticket) == {
        Perm.VIEW, Perm.CLAIM, Perm.NOTE, Perm.TRANSFER, Perm.RECATEGORIZE}


def test_worker_out_of_scope_is_refused(session: Session, world: World, ticket: Ticket, now: datetime) -> None:
    assert allowed(session, world, world.outsider, ticket) == set()
    with pytest.raises(PermissionDenied, match="outside your area"):
        svc.claim(session, ticket_id=ticket.id or 0, worker=world.outsider, rules=world.rules, now=now)
    with pytest.raises(PermissionDenied, match="outside your area"):
        svc.add_note(session, ticket_id=ticket.id or 0, actor=world.outsider, rules=world.rules, text="hi",
                     now=now)


def test_leader_and_supervisor_powers(session: Session, world: World, ticket: Ticket) -> None:
    for boss in (world.leader, world.supervisor):
        powers = allowed(session, world, boss, ticket)
        assert set(STAFF_CHANGES) <= powers and Perm.VIEW in powers
        assert not powers & {Perm.CONFIRM, Perm.RATE, Perm.AMEND}  # the resident's own


def test_leader_has_no_power_outside_their_community(session: Session, world: World, now: datetime) -> None:
    elsewhere, _ = svc.open_ticket(
        session, rules=world.rules, reporter=world.neighbour, chat_id=2, message_id=9, text="x",
        category="other", priority="normal", area=world.other_grid, target=f"grid:{world.other_grid}",
        route_index=0, explanation={}, now=now)
    assert allowed(session, world, world.leader, elsewhere) == set()
    assert Perm.REASSIGN in allowed(session, world, world.supervisor, elsewhere)  # district-wide


def test_inspector_reads_but_never_changes(session: Session, world: World, ticket: Ticket, now: datetime) -> None:
    assert allowed(session, world, world.inspector, ticket) == {Perm.VIEW}
    with pytest.raises(PermissionDenied, match="inspectors can read"):
        svc.cancel(session, ticket_id=ticket.id or 0, actor=world.inspector, rules=world.rules, reason="x",
                   now=now)
    with pytest.raises(PermissionDenied, match="inspectors can read"):
        svc.claim(session, ticket_id=ticket.id or 0, worker=world.inspector, rules=world.rules, now=now)


def test_residents_see_only_their_own(session: Session, world: World, ticket: Ticket, now: datetime) -> None:
    assert can_view(session, world.rules, world.reporter, ticket)
    assert not can_view(session, world.rules, world.neighbour, ticket)
    assert allowed(session, world, world.neighbour, ticket) == set()
    with pytest.raises(PermissionDenied, match="your own reports"):
        require(session, world.rules, world.neighbour, Perm.VIEW, ticket)
    for action in (svc.confirm, svc.cancel):
        with pytest.raises(PermissionDenied, match="your own reports"):
            action(session, ticket_id=ticket.id or 0, actor=world.neighbour, rules=world.rules, now=now)
    # A stranger learns nothing about the state: the refusal comes before any transition error.
    with pytest.raises(PermissionDenied):
        svc.reopen(session, ticket_id=ticket.id or 0, actor=world.neighbour, rules=world.rules, now=now)


def test_reporter_powers_follow_status(session: Session, world: World, ticket: Ticket, now: datetime) -> None:
    assert allowed(session, world, world.reporter, ticket) == {Perm.VIEW, Perm.CANCEL, Perm.AMEND, Perm.RECATEGORIZE}
    with pytest.raises(PermissionDenied, match="only staff"):
        svc.claim(session, ticket_id=ticket.id or 0, worker=world.reporter, rules=world.rules, now=now)
    svc.claim(session, ticket_id=ticket.id or 0, worker=world.worker, rules=world.rules, now=now)
    svc.resolve(session, ticket_id=ticket.id or 0, actor=world.worker, rules=world.rules, now=now)
    assert allowed(session, world, world.reporter, ticket) == {
        Perm.VIEW, Perm.CONFIRM, Perm.REOPEN, Perm.RATE, Perm.AMEND}


def test_holder_only_actions(session: Session, world: World, ticket: Ticket, now: datetime) -> None:
    svc.claim(session, ticket_id=ticket.id or 0, worker=world.worker, rules=world.rules, now=now)
    assert {Perm.NOTE, Perm.RESOLVE, Perm.RELEASE, Perm.TRANSFER} <= allowed(session, world, world.worker, ticket)
    assert allowed(session, world, world.worker2, ticket) == {Perm.VIEW, Perm.CLAIM}


def test_team_tickets_belong_to_the_team(session: Session, world: World, now: datetime) -> None:
    team = next(iter(world.rules.teams))
    member = people.get_or_create_person(session, telegram_id=70, name="fitter", now=now)
    people.grant_role(session, person=member, role="worker", scope=f"team:{team}", rules=world.rules, now=now)
    gas = open_one(session, world, now, 55, category="gas", target=f"team:{team}")
    assert can(session, world.rules, member, Perm.CLAIM, gas)
    assert not can(session, world.rules, world.worker, Perm.CLAIM, gas)  # grid workers don't take team work
    assert can_view(session, world.rules, world.leader, gas)  # but the grid's leader oversees its place
    ordinary = open_one(session, world, now, 56)
    assert not can_view(session, world.rules, member, ordinary)
