"""The leader lease: one holder at a time, expiry takeover, renew and release."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from cases import leader
from cases.db import COMMIT_GUARD, session_scope
from cases.models import JobRun


def _acquire(engine: Engine, holder: str, now: datetime, ttl: float = 30) -> bool:
    with session_scope(engine) as session:
        return leader.try_acquire(session, name="leader", holder=holder, ttl=ttl, now=now)


def test_two_holders_one_wins(engine: Engine, now: datetime) -> None:
    assert _acquire(engine, "a", now)
    assert not _acquire(engine, "b", now)
    assert _acquire(engine, "a", now + timedelta(seconds=10)), "the holder can extend its lease"
    with session_scope(engine) as session:
        assert leader.current_holder(session, name="leader", now=now) == "a"


def test_expired_lease_is_taken_over(engine: Engine, now: datetime) -> None:
    assert _acquire(engine, "a", now, ttl=30)
    assert not _acquire(engine, "b", now + timedelta(seconds=29))
    assert _acquire(engine, "b", now + timedelta(seconds=31))
    with session_scope(engine) as session:
        assert not leader.renew(session, name="leader", holder="a", ttl=30, now=now + timedelta(seconds=32))
        assert leader.renew(session, name="leader", holder="b", ttl=30, now=now + timedelta(seconds=32))
        assert leader.current_holder(session, name="leader", now=now + timedelta(seconds=40)) == "b"


def test_renew_fails_after_expiry_and_release_frees(engine: Engine, now: datetime) -> None:
    assert _acquire(engine, "a", now, ttl=10)
    with session_scope(engine) as session:
        assert leader.renew(session, name="leader", holder="a", ttl=10, now=now + timedelta(seconds=5))
        assert not leader.renew(session, name="leader", holder="a", ttl=10, now=now + timedelta(seconds=16))
    with session_scope(engine) as session:
        assert not leader.release(session, name="leader", holder="b")
        assert leader.release(session, name="leader", holder="a")
    assert _acquire(engine, "b", now + timedelta(seconds=16))


def test_concurrent_acquire_exactly_one_winner(engine: Engine, now: datetime) -> None:
    barrier = threading.Barrier(6)
    results: dict[str, bool] = {}

    def contend(holder: str) -> None:
        barrier.wait()
        results[holder] = _acquire(engine, holder, now)

    threads = [threading.Thread(target=contend, args=(f"p{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [False] * 5 + [True]


def test_a_takeover_increments_the_epoch_and_fences_the_old_holder(engine: Engine) -> None:
    with session_scope(engine) as session:
        now = leader.database_now(session)
        assert leader.try_acquire(session, holder="a", ttl=0.5, now=now - timedelta(seconds=1))  # expired
        assert leader.epoch_of(session, holder="a") == 1
    with session_scope(engine) as session:
        assert leader.try_acquire(session, holder="b", ttl=30, now=leader.database_now(session))
        assert leader.epoch_of(session, holder="b") == 2, "a takeover starts a new epoch"
        assert leader.epoch_of(session, holder="a") is None
    with session_scope(engine) as session:
        assert leader.try_acquire(session, holder="b", ttl=30, now=leader.database_now(session))
        assert leader.epoch_of(session, holder="b") == 2, "renewing keeps the epoch"
        assert leader.holds(session, holder="b", epoch=2)
        assert not leader.holds(session, holder="a", epoch=1)
        assert not leader.holds(session, holder="b", epoch=1)

    # Work done under the old holder's fence is rolled back; the new holder's commits.
    def write(holder: str, epoch: int, marker: str) -> None:
        token = COMMIT_GUARD.set(leader.fence(holder=holder, epoch=epoch))
        try:
            with session_scope(engine) as session:
                session.add(JobRun(name=marker, interval_seconds=1, holder=holder, last_started_at=datetime.now(UTC),
                                   runs=1, failures=0))
        finally:
            COMMIT_GUARD.reset(token)

    with pytest.raises(leader.LeaseLost):
        write("a", 1, "stale")
    write("b", 2, "fresh")
    with session_scope(engine) as session:
        assert {row.name for row in session.exec(select(JobRun))} == {"fresh"}


def test_an_expired_lease_proves_nothing_even_before_a_takeover(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert leader.try_acquire(session, holder="a", ttl=1, now=leader.database_now(session) - timedelta(seconds=2))
    with session_scope(engine) as session:
        assert not leader.holds(session, holder="a", epoch=1), "a leader frozen past its lease may not act"


@pytest.mark.postgres
def test_on_postgresql_a_takeover_waits_for_the_fenced_work_under_way(pg_url: str) -> None:
    """The fence share-locks the lease row: a takeover cannot slip in between the check and the commit."""
    from cases.db import make_engine, upgrade

    engine = make_engine(pg_url)
    upgrade(engine)
    try:
        with session_scope(engine) as session:
            now = leader.database_now(session)
            assert leader.try_acquire(session, holder="old", ttl=1, now=now)
        order: list[str] = []
        checked = threading.Event()

        def old_leader_work() -> None:
            with session_scope(engine) as session:
                assert leader.holds(session, holder="old", epoch=1)  # proven, and the row is now share-locked
                checked.set()
                while leader.database_now(session) <= now + timedelta(seconds=1.2):
                    threading.Event().wait(0.05)  # the lease runs out while this transaction is still open
                order.append("old leader committed")

        def new_leader() -> None:
            checked.wait(10)
            while True:
                with session_scope(engine) as session:
                    if leader.try_acquire(session, holder="new", ttl=30, now=leader.database_now(session)):
                        order.append("new leader took over")
                        return
                threading.Event().wait(0.05)

        threads = [threading.Thread(target=old_leader_work), threading.Thread(target=new_leader)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert order == ["old leader committed", "new leader took over"]
        with session_scope(engine) as session:
            assert not leader.holds(session, holder="old", epoch=1)
            assert leader.holds(session, holder="new", epoch=2)
    finally:
        engine.dispose()
