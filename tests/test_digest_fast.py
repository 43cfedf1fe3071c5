"""The fast digest (index ranges, :mod:`cases.digest_figures`) equals the one-pass reference on random
tickets, on both databases, for the district and for a community."""

from __future__ import annotations

import random
from datetime import timedelta

from digest_reference import reference_digest
from sqlalchemy import Engine
from sqlmodel import Session
from test_digest import DAY, NOW, RULES
from test_sweep import seed_people

from cases.digest import build_digest
from cases.models import Ticket

STATUSES = ["open", "claimed", "resolved", "closed", "cancelled", "merged", "draft"]


def _seed(engine: Engine, n: int = 300) -> None:
    rng = random.Random(12)
    with Session(engine) as session:
        people = seed_people(session)
        reporter, worker = people["resident"].id, people["worker"].id
        assert reporter is not None
        for i in range(1, n + 1):
            created = NOW - timedelta(hours=rng.randrange(0, 24 * 45))
            status = rng.choice(STATUSES)
            claimed = created + timedelta(minutes=rng.randrange(5, 600)) if status != "open" else None
            resolved = claimed + timedelta(hours=rng.randrange(1, 60)) if claimed and rng.random() < .7 else None
            closed = (resolved or created) + timedelta(hours=rng.randrange(1, 48)) \
                if status in ("closed", "cancelled") else None
            if status in ("resolved", "closed") and resolved is None:
                resolved = created + timedelta(hours=3)
            session.add(Ticket(
                id=i, status=status, category="other", area=rng.choice(["g1", "g2", "g3", None]),
                target="grid:g1", reporter_id=reporter, chat_id=1, source_message_id=i, created_at=created,
                updated_at=created, opened_at=created if rng.random() < .9 else None,
                claimed_by=worker if claimed else None, claimed_at=claimed, resolved_at=resolved, closed_at=closed,
                resolve_by=created + timedelta(hours=rng.choice([4, 24, 72])) if rng.random() < .95 else None,
                escalation_level=rng.randrange(0, 4), reopen_count=rng.choice([0, 0, 1]),
                paused_at=created if status in ("open", "claimed") and rng.random() < .1 else None,
            ))
        session.commit()


def test_fast_digest_equals_the_reference(engine: Engine) -> None:
    _seed(engine)
    with Session(engine) as session:
        for area in ("d", "c1"):
            for day in (DAY, DAY - timedelta(days=9)):
                fast = build_digest(session, rules=RULES, area=area, day=day, now=NOW).to_dict()
                slow = reference_digest(session, rules=RULES, area=area, day=day, now=NOW).to_dict()
                for key in ("overdue_tickets", "p90_claim_seconds", "p90_resolve_seconds", "generated_at", "held"):
                    fast.pop(key)
                    slow.pop(key)
                assert fast == slow, area
                if area == "d" and day == DAY:  # the fixture exercises every figure
                    assert slow["closed_30d"] and slow["reworked_30d"] and slow["overdue"] and slow["new"]
                    assert sum(p["overdue"] for p in slow["trend"]) and slow["median_claim_seconds"]
