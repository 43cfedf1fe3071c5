"""Concurrency: 50 simultaneous claims have exactly one winner; duplicate deliveries make one ticket."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from cases.db import make_engine, session_scope
from cases.models import Person, Role, Status, Ticket, TicketEvent
from cases.rules.schema import Rules
from cases.services import people
from cases.services import tickets as svc

N = 50


def _race(n: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``work(i)`` in ``n`` threads released at the same instant."""
    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait()
            value = work(i)
            with lock:
                results.append(value)
        except BaseException as exc:  # reported by the assertions
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_fifty_simultaneous_claims_have_one_winner(db_url: str, engine: Engine, rules: Rules,
                                                   now: datetime) -> None:
    grid = rules.grids[0]
    with session_scope(engine) as s:
        reporter = people.get_or_create_person(s, telegram_id=1, name="resident", now=now)
        workers = []
        for i in range(N):
            w = people.get_or_create_person(s, telegram_id=1000 + i, name=f"worker{i}", now=now)
            people.grant_role(s, person=w, role=Role.WORKER, scope=grid, rules=rules, now=now)
            workers.append(w)
        ticket, _ = svc.open_ticket(s, rules=rules, reporter=reporter, chat_id=1, message_id=1, text="leak",
                                    category="water", priority="urgent", area=grid, target=f"grid:{grid}",
                                    route_index=0, explanation={}, now=now)
    racing = make_engine(db_url, pool_size=N + 5, max_overflow=0)

    def claim(i: int) -> tuple[bool, int | None, int | None]:
        with session_scope(racing) as s:
            result = svc.claim(s, ticket_id=ticket.id or 0, worker=workers[i], rules=rules, now=now)
            return result.won, workers[i].id, result.holder.id if result.holder else None

    try:
        results, errors = _race(N, claim)
    finally:
        racing.dispose()
    assert errors == []
    winners = [worker for won, worker, _ in results if won]
    assert len(results) == N and len(winners) == 1
    assert {holder for _, _, holder in results} == {winners[0]}  # every loser is told who won
    with Session(engine) as s:
        final = s.get(Ticket, ticket.id)
        assert final is not None and final.status == Status.CLAIMED and final.claimed_by == winners[0]
        claims = s.exec(select(TicketEvent).where(TicketEvent.kind == "claim")).all()
        assert [e.actor_id for e in claims] == winners


def test_concurrent_duplicate_deliveries_open_one_ticket(db_url: str, engine: Engine, rules: Rules,
                                                         now: datetime) -> None:
    grid = rules.grids[0]
    racing = make_engine(db_url, pool_size=25, max_overflow=0)

    def deliver(_: int) -> tuple[int | None, bool]:
        with session_scope(racing) as s:
            reporter = people.get_or_create_person(s, telegram_id=77, name="resident", now=now)
            ticket, created = svc.open_ticket(
                s, rules=rules, reporter=reporter, chat_id=77, message_id=5, text="垃圾没人收",
                category="other", priority="normal", area=grid, target=f"grid:{grid}", route_index=0,
                explanation={}, now=now)
            return ticket.id, created

    try:
        results, errors = _race(20, deliver)
    finally:
        racing.dispose()
    assert errors == []
    assert len({tid for tid, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Ticket)).one() == 1
        assert s.exec(select(func.count()).select_from(Person)).one() == 1
        assert s.exec(select(func.count()).select_from(TicketEvent)).one() == 1
