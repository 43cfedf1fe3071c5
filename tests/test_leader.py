"""The leader lease: one holder at a time, expiry takeover, renew and release."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine

from cases import leader
from cases.db import session_scope


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


def test_a_lease_holder_that_died_on_this_host_is_recognised() -> None:
    import os
    import socket
    import subprocess
    import sys

    from bot.runtime import holder_is_dead

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host = socket.gethostname()
    assert holder_is_dead(f"{host}:{child.pid}:abc123")
    assert not holder_is_dead(f"{host}:{os.getpid()}:abc123"), "we are alive"
    assert not holder_is_dead(f"other-host-{host}:{child.pid}:abc123"), "another host's process is not ours to judge"
    assert not holder_is_dead("garbage")
