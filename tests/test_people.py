"""People, roles, invite codes (hashed, expiring, single use even under concurrency) and recipients."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from cases.db import make_engine, session_scope
from cases.models import Invite, Role, RoleAssignment
from cases.rules.schema import Rules
from cases.services import people
from cases.services.errors import InvalidInput, InviteError


def test_get_or_create_person_is_idempotent_and_keeps_names_current(session: Session, now: datetime) -> None:
    first = people.get_or_create_person(session, telegram_id=42, name="Old", username="old", language="en",
                                        now=now)
    again = people.get_or_create_person(session, telegram_id=42, name="New", username="new", now=now)
    assert again.id == first.id and (again.name, again.username, again.language) == ("New", "new", "en")
    assert people.find_person(session, 42) is not None and people.find_person(session, 43) is None


def test_grant_role_validates_and_is_idempotent(session: Session, rules: Rules, now: datetime) -> None:
    p = people.get_or_create_person(session, telegram_id=1, name="w", now=now)
    a = people.grant_role(session, person=p, role="worker", scope=rules.grids[0], rules=rules, now=now)
    b = people.grant_role(session, person=p, role="worker", scope=rules.grids[0], rules=rules, now=now)
    assert a.id == b.id and [r.scope for r in people.roles_of(session, p.id or 0)] == [rules.grids[0]]
    with pytest.raises(InvalidInput, match="unknown role"):
        people.grant_role(session, person=p, role="king", scope=rules.root, rules=rules, now=now)
    with pytest.raises(InvalidInput, match="unknown area"):
        people.grant_role(session, person=p, role="worker", scope="atlantis", rules=rules, now=now)
    with pytest.raises(InvalidInput, match="unknown team"):
        people.grant_role(session, person=p, role="worker", scope="team:nobody", rules=rules, now=now)
    assert people.revoke_role(session, person=p, role="worker", scope=rules.grids[0])
    assert people.roles_of(session, p.id or 0) == []


def test_invite_code_is_typeable_and_only_its_hash_is_stored(session: Session, rules: Rules,
                                                             now: datetime) -> None:
    code = people.create_invite(session, role="leader", scope=rules.root, expires_in=timedelta(days=7), now=now,
                                rules=rules)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2}", code)
    [invite] = session.exec(select(Invite)).all()
    raw = code.replace("-", "")
    assert raw not in invite.code_hash and code not in invite.code_hash and len(invite.code_hash) == 64
    assert invite.expires_at is not None
    person = people.get_or_create_person(session, telegram_id=5, name="leader", now=now)
    # Typed carelessly: lower case, no dashes, spaces around.
    assignment = people.redeem_invite(session, code=f"  {raw.lower()} ", person=person, now=now)
    assert (assignment.role, assignment.scope, assignment.person_id) == ("leader", rules.root, person.id)
    with pytest.raises(InviteError, match="already been used"):
        people.redeem_invite(session, code=code, person=person, now=now)


def test_invite_codes_differ(session: Session, rules: Rules, now: datetime) -> None:
    codes = {people.create_invite(session, role="worker", scope=rules.grids[0], expires_in=timedelta(hours=1),
                                  now=now, rules=rules) for _ in range(20)}
    assert len(codes) == 20


def test_invite_errors(session: Session, rules: Rules, now: datetime) -> None:
    person = people.get_or_create_person(session, telegram_id=5, name="w", now=now)
    code = people.create_invite(session, role="worker", scope=rules.grids[0], expires_in=timedelta(days=1),
                                now=now, rules=rules)
    with pytest.raises(InviteError, match="expired"):
        people.redeem_invite(session, code=code, person=person, now=now + timedelta(days=1, seconds=1))
    with pytest.raises(InviteError, match="not known"):
        people.redeem_invite(session, code="AAAA-BBBB-CC", person=person, now=now)
    with pytest.raises(InvalidInput, match="unknown role"):
        people.create_invite(session, role="admin", scope=rules.root, expires_in=timedelta(days=1), now=now,
                             rules=rules)
    with pytest.raises(InvalidInput, match="unknown area"):
        people.create_invite(session, role="worker", scope="nowhere", expires_in=timedelta(days=1), now=now,
                             rules=rules)
    team_code = people.create_invite(session, role="worker", scope=f"team:{next(iter(rules.teams))}",
                                     expires_in=timedelta(days=1), now=now, rules=rules)
    assert people.redeem_invite(session, code=team_code, person=person, now=now).scope.startswith("team:")
    assert people.roles_of(session, person.id or 0)[0].role == Role.WORKER


def test_invite_is_single_use_under_concurrency(db_url: str, engine: Engine, rules: Rules, now: datetime) -> None:
    n = 20
    with session_scope(engine) as s:
        code = people.create_invite(s, role="worker", scope=rules.grids[0], expires_in=timedelta(days=1),
                                    now=now, rules=rules)
        persons = [people.get_or_create_person(s, telegram_id=100 + i, name=f"p{i}", now=now) for i in range(n)]
    racing = make_engine(db_url, pool_size=n + 2, max_overflow=0)
    barrier = threading.Barrier(n)
    outcomes: list[str] = []

    def redeem(i: int) -> None:
        barrier.wait()
        try:
            with session_scope(racing) as s:
                people.redeem_invite(s, code=code, person=persons[i], now=now)
            outcomes.append("ok")
        except InviteError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    racing.dispose()
    assert outcomes.count("ok") == 1 and len(outcomes) == n
    assert all("already been used" in o for o in outcomes if o != "ok")
    with Session(engine) as s:
        assert len(s.exec(select(RoleAssignment)).all()) == 1


def test_staff_for_target_and_people_over(session: Session, rules: Rules, now: datetime) -> None:
    grid = rules.grids[0]
    community = rules.ancestor_of_kind(grid, "community") or ""
    street = rules.ancestor_of_kind(grid, "street") or ""
    team = next(iter(rules.teams))

    def staff(tid: int, role: str, scope: str) -> int:
        p = people.get_or_create_person(session, telegram_id=tid, name=str(tid), now=now)
        people.grant_role(session, person=p, role=role, scope=scope, rules=rules, now=now)
        return p.id or 0

    worker = staff(1, "worker", grid)
    staff(2, "worker", community)  # a worker scoped above the grid is not one of its workers
    leader = staff(3, "leader", community)
    supervisor = staff(4, "supervisor", street)
    district = staff(5, "supervisor", rules.root)
    team_worker = staff(6, "worker", f"team:{team}")
    team_leader = staff(7, "leader", f"team:{team}")
    staff(8, "inspector", rules.root)
    ids = lambda ps: [p.id for p in ps]  # noqa: E731
    assert ids(people.staff_for_target(session, rules, f"grid:{grid}")) == [worker]
    assert ids(people.staff_for_target(session, rules, f"team:{team}")) == [team_worker, team_leader]
    assert ids(people.people_over(session, rules, grid, ["leader"])) == [leader]
    assert ids(people.people_over(session, rules, grid, ["leader", "supervisor"])) == [leader, supervisor, district]
    assert ids(people.people_over(session, rules, street, ["leader", "supervisor"])) == [supervisor, district]
    over_team = ids(people.people_over(session, rules, f"team:{team}", ["leader", "supervisor"]))
    assert team_leader in over_team and district in over_team and leader not in over_team
    with pytest.raises(InvalidInput):
        people.staff_for_target(session, rules, "nowhere")


def test_home_and_unreachable(session: Session, rules: Rules, now: datetime) -> None:
    p = people.get_or_create_person(session, telegram_id=9, name="r", now=now)
    assert people.set_home(session, person=p, area=rules.grids[1], rules=rules, now=now).home_area == rules.grids[1]
    with pytest.raises(InvalidInput):
        people.set_home(session, person=p, area="atlantis", rules=rules, now=now)
    marked = people.mark_unreachable(session, telegram_id=9, now=now)
    assert marked is not None and marked.unreachable
    assert people.mark_unreachable(session, telegram_id=10, now=now) is None
    assert not people.mark_unreachable(session, telegram_id=9, now=now, unreachable=False).unreachable  # type: ignore[union-attr]
