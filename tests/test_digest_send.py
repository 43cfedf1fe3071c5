"""Sending digests: once per person per day at digest.at, caught up once after an outage, concurrent-safe."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, select
from test_digest import seed_digest_fixture
from test_sweep import RULES

from cases.db import session_scope
from cases.digest import Digest, DigestSent, digest_audience, run_digests
from cases.models import DigestLog, Person, RoleAssignment
from cases.notify import RecordingNotifier
from cases.sweep import run_sweep

SH = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=SH).astimezone(UTC)


def send(engine: Engine, now: datetime, dry_run: bool = False) -> tuple[list[DigestSent], RecordingNotifier]:
    notifier = RecordingNotifier()
    with session_scope(engine) as s:
        sent = run_digests(s, rules=RULES, notifier=notifier, now=now, dry_run=dry_run)
    return sent, notifier


def seeded(engine: Engine) -> dict[str, Person]:
    with session_scope(engine) as s:
        return seed_digest_fixture(s)


def test_sent_at_digest_time_once_a_day(engine: Engine) -> None:
    people = seeded(engine)
    assert send(engine, at(3, 6, 8, 29))[0] == []
    sent, notifier = send(engine, at(3, 6, 8, 30))
    assert {(s.person_id, s.area) for s in sent} == {(people["street_sup"].id, "s1"), (people["district_sup"].id, "d")}
    assert notifier.kinds() == ["digest", "digest"]
    by_person = {pid: n for pid, n in notifier.sent}
    street_sup = people["street_sup"].id
    assert street_sup is not None
    data = by_person[street_sup].data
    assert (data["area"], data["day"], data["sent_for"]) == ("s1", "2025-03-05", "2025-03-06")
    digest = Digest.from_dict(data["digest"])
    assert (digest.area, digest.day, digest.overdue) == ("s1", date(2025, 3, 5), 1)
    assert send(engine, at(3, 6, 9))[0] == []
    assert send(engine, at(3, 6, 23, 59))[0] == []
    assert len(send(engine, at(3, 7, 8, 30))[0]) == 2  # the next day
    with Session(engine) as s:
        assert len(s.exec(select(DigestLog)).all()) == 4


def test_missed_digest_caught_up_once(engine: Engine) -> None:
    seeded(engine)
    # The bot was down from 08:00 to 15:00: the day's digest goes out when it comes back, once.
    assert send(engine, at(3, 6, 8))[0] == []
    assert len(send(engine, at(3, 6, 15))[0]) == 2
    assert send(engine, at(3, 6, 15, 1))[0] == []
    assert send(engine, at(3, 6, 18))[0] == []


def test_dry_run_sends_nothing(engine: Engine) -> None:
    seeded(engine)
    sent, notifier = send(engine, at(3, 6, 9), dry_run=True)
    assert len(sent) == 2 and notifier.sent == []
    assert len(send(engine, at(3, 6, 9))[0]) == 2


def test_broadest_scope_and_common_area(engine: Engine) -> None:
    people = seeded(engine)
    with session_scope(engine) as s:
        both = Person(telegram_id=5000, name="two streets", created_at=at(3, 1, 0))
        s.add(both)
        s.flush()
        assert both.id is not None
        for scope in ("s1", "s2"):
            s.add(RoleAssignment(person_id=both.id, role="supervisor", scope=scope, created_at=at(3, 1, 0)))
        street_sup = people["street_sup"].id
        assert street_sup is not None
        s.add(RoleAssignment(person_id=street_sup, role="supervisor", scope="c1", created_at=at(3, 1, 0)))
        both_id = both.id
    with Session(engine) as s:
        audience = digest_audience(s, RULES)
    assert audience[both_id] == "d"  # two streets: their common area
    assert audience[street_sup] == "s1"  # the broader of s1 and c1 (c1 is not a digest scope)
    assert people["grid_leader"].id not in audience  # grid_leader is not in digest.to


def test_sweep_sends_digests(engine: Engine) -> None:
    seeded(engine)
    notifier = RecordingNotifier()
    with session_scope(engine) as s:
        report = run_sweep(s, rules=RULES, notifier=notifier, now=at(3, 6, 8, 31))
    assert report.counts().get("digest") == 2
    assert notifier.kinds().count("digest") == 2


def test_concurrent_senders_send_once(engine: Engine) -> None:
    seeded(engine)
    notifiers = [RecordingNotifier() for _ in range(3)]
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def run(notifier: RecordingNotifier) -> None:
        try:
            barrier.wait()
            with session_scope(engine) as s:
                run_digests(s, rules=RULES, notifier=notifier, now=at(3, 6, 8, 30))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in notifiers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    recipients = [pid for n in notifiers for pid, _ in n.sent]
    assert len(recipients) == 2 and len(set(recipients)) == 2
