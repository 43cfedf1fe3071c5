"""Sending digests: once per person per day at digest.at, caught up once after an outage, concurrent-safe."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select
from test_digest import seed_digest_fixture
from test_sweep import RULES

from bot.digest_sending import DigestCharts
from cases import outbox
from cases.db import session_scope
from cases.digest import Digest, DigestSent, digest_audience, due_digests, run_digests, send_due_digests
from cases.models import DigestLog, Person, RoleAssignment
from cases.notify import Notice, RecordingNotifier
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


def _more_supervisors(engine: Engine, scopes: list[str]) -> None:
    with session_scope(engine) as s:
        for n, scope in enumerate(scopes):
            person = Person(telegram_id=6000 + n, name=f"supervisor {n}", created_at=at(3, 1, 0))
            s.add(person)
            s.flush()
            assert person.id is not None
            s.add(RoleAssignment(person_id=person.id, role="supervisor", scope=scope, created_at=at(3, 1, 0)))


def test_digests_are_built_outside_the_write_lock_and_queued_in_short_batches(engine: Engine) -> None:
    seeded(engine)
    _more_supervisors(engine, ["s1", "s2", "d"])  # five due digests in all, for three areas
    commits: list[int] = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    prepared: list[str] = []

    def prepare(digests: Iterable[Digest]) -> None:
        prepared.extend(d.area for d in digests)
        committed = threading.Event()

        def resident_writes() -> None:  # a report arriving while the charts are being drawn
            with session_scope(engine) as s:
                outbox.enqueue(s, chat_id=1, method="sendMessage", payload={"text": "x"}, now=at(3, 6, 8, 30))
            committed.set()

        writer = threading.Thread(target=resident_writes)
        writer.start()
        writer.join(timeout=10)
        assert committed.is_set(), "a write had to wait for the digest job"

    notifier = RecordingNotifier()
    sent = send_due_digests(engine, rules=RULES, notifier=notifier, now=at(3, 6, 8, 30), prepare=prepare, batch=2)
    assert sorted(prepared) == ["d", "s1", "s2"]
    assert len(sent) == 5 and len({pid for pid, _ in notifier.sent}) == 5
    assert len(commits) == 1 + 3  # the resident's write, then three batches of at most two
    assert send_due_digests(engine, rules=RULES, notifier=RecordingNotifier(), now=at(3, 6, 9)) == []


class _FailsFor(RecordingNotifier):
    def __init__(self, person_id: int | None) -> None:
        super().__init__()
        self.person_id = person_id

    def notify(self, session: Session, recipients: Sequence[Person], notice: Notice, *, now: datetime) -> None:
        if any(p.id == self.person_id for p in recipients):
            raise RuntimeError("cannot render this one")
        super().notify(session, recipients, notice, now=now)


def test_a_failing_batch_is_retried_next_run_and_the_others_go_out(engine: Engine) -> None:
    seeded(engine)
    _more_supervisors(engine, ["s1", "s2", "d"])
    with Session(engine) as s:
        due = due_digests(s, rules=RULES, now=at(3, 6, 8, 30))
    assert len(due) == 5
    failing = due[2].person_id  # in the second of three batches
    notifier = _FailsFor(failing)
    with pytest.raises(RuntimeError, match="cannot render"):
        send_due_digests(engine, rules=RULES, notifier=notifier, now=at(3, 6, 8, 30), batch=2)
    first_run = {pid for pid, _ in notifier.sent}
    assert first_run == {due[i].person_id for i in (0, 1, 4)}
    retry = RecordingNotifier()
    sent = send_due_digests(engine, rules=RULES, notifier=retry, now=at(3, 6, 9), batch=2)
    assert {s.person_id for s in sent} == {due[2].person_id, due[3].person_id}
    assert {pid for pid, _ in retry.sent} == {due[2].person_id, due[3].person_id}


def test_charts_drawn_ahead_are_reused() -> None:
    digest = Digest(area="s1", kind="street", day=date(2025, 3, 5), generated_at=at(3, 6, 8, 30), overdue=1)
    charts = DigestCharts(RULES)
    assert charts.chart(digest, "zh") is not charts.chart(digest, "zh")  # nothing prepared: drawn each time
    charts.prepare([digest])
    drawn = charts.chart(digest, "zh")
    assert drawn.startswith(b"\x89PNG") and charts.chart(digest, "zh") is drawn
    assert charts.chart(digest, "en") != drawn  # another language: drawn for its reader
    charts.prepare([])
    assert charts.chart(digest, "zh") is not drawn  # a new run forgets the old charts
