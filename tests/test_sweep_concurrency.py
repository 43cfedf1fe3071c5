"""Two sweeps at the same moment, in separate threads and sessions: every step happens exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select
from test_sweep import RULES, T0, add_ticket, seed_people

from cases.db import session_scope
from cases.models import TicketEvent
from cases.notify import RecordingNotifier
from cases.sweep import SweepReport, run_sweep


def _race(engine: Engine, at_offsets: list[timedelta], workers: int = 2) -> list[RecordingNotifier]:
    notifiers = [RecordingNotifier() for _ in range(workers)]
    reports: list[SweepReport] = []
    errors: list[BaseException] = []
    for offset in at_offsets:
        barrier = threading.Barrier(workers)

        def run(notifier: RecordingNotifier, offset: timedelta = offset, barrier: threading.Barrier = barrier) -> None:
            try:
                barrier.wait()
                with session_scope(engine) as s:
                    reports.append(run_sweep(s, rules=RULES, notifier=notifier, now=T0 + offset, digests=False,
                                             batch_size=7))
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(n,)) for n in notifiers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    print('actions per sweeper:', [len(n.sent) for n in notifiers], 'conflicts:', sum(r.conflicts for r in reports))
    return notifiers


def test_concurrent_sweeps_take_each_step_once(engine: Engine) -> None:
    with session_scope(engine) as s:
        people = seed_people(s)
        ids = [add_ticket(s, RULES, people, status="claimed", holder="worker", msg=i).id for i in range(40)]
        ids += [add_ticket(s, RULES, people, msg=100 + i).id for i in range(20)]
    offsets = [timedelta(hours=2), timedelta(hours=20), timedelta(hours=24), timedelta(hours=29),
               timedelta(hours=49)]
    notifiers = _race(engine, offsets, workers=3)
    with Session(engine) as s:
        evs = s.exec(select(TicketEvent)).all()
    per_step = Counter((e.ticket_id, e.kind, e.data.get("level") or e.data.get("reminder")) for e in evs)
    assert per_step and max(per_step.values()) == 1
    escalations = Counter(e.ticket_id for e in evs if e.kind == "escalated")
    assert set(escalations) == set(ids) and set(escalations.values()) == {3}
    warnings = Counter(e.ticket_id for e in evs if e.kind == "deadline_warning")
    assert len(warnings) == 40
    # Notices: each ticket's escalation reached each recipient once per level, whoever swept it.
    sent = Counter(
        (pid, n.ticket_id, n.kind, n.data.get("level") or n.data.get("reminder"))
        for r in notifiers
        for pid, n in r.sent
    )
    assert max(sent.values()) == 1
    assert sum(1 for (_, _, kind, _) in sent if kind == "escalated") == len(ids) * (2 + 1 + 1)
