"""The console's KPIs on the digest's hand-checked fixture: the same digest figures, plus on-time closure
counting open overdue tickets as late, satisfaction, held, the worker league and the change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from test_digest import DAY, NOW, build, digest_engine  # noqa: F401  (the fixture)
from test_sweep import RULES, make_rules, seed_people

from cases.digest import Digest
from cases.kpi import overview
from cases.models import Ticket


def test_overview_figures(digest_engine: Engine) -> None:  # noqa: F811
    with Session(digest_engine) as session:
        for number, stars in ((3, 5), (4, 2)):
            ticket = session.get(Ticket, number)
            assert ticket is not None
            ticket.rating = stars
        held = session.get(Ticket, 1)
        assert held is not None
        held.held = True
        session.commit()
        view = overview(session, rules=RULES, area="d", day=DAY, now=NOW)
    same = {"generated_at": "", "overdue_tickets": []}  # the overview lists no tickets
    assert view.digest.to_dict() | same == build(digest_engine).to_dict() | same
    assert view.on_time_close_rate == pytest.approx(2 / (3 + 2))  # 2 on time of 3 closed + 2 open overdue
    assert (view.satisfaction_rate, view.rated_30d, view.held) == (0.5, 2, 1)
    assert view.digest.p90_claim_seconds == pytest.approx(17.4 * 3600)  # 1h, 1h, 2h, 24h: 2h + 0.7 x 22h
    assert view.digest.p90_resolve_seconds == pytest.approx(43.5 * 3600)  # 3h, 48h: 3h + 0.9 x 45h
    [worker] = view.workers
    assert (worker.closed_30d, worker.on_time_30d) == (3, 2)
    before = build(digest_engine, day=DAY - timedelta(days=30))
    assert view.previous is not None and view.previous.on_time_rate_7d == before.on_time_rate_7d is None
    assert view.change("rework_rate_30d") is None  # nothing closed in the 30 days before
    assert view.change("new") == 3 - before.new


def _close_rate(d: Digest, overdue: int) -> float:
    return d.on_time_30d / (d.closed_30d + overdue)


def test_change_against_the_previous_period(digest_engine: Engine) -> None:  # noqa: F811
    with Session(digest_engine) as session:
        later = overview(session, rules=RULES, area="d", day=DAY + timedelta(days=30), now=NOW)
    digest = build(digest_engine)  # the previous period's cards are the digest's figures for that day
    previous = later.previous
    assert previous is not None
    assert (previous.on_time_rate_7d, previous.rework_rate_30d, previous.new, previous.closed_30d) == (
        digest.on_time_rate_7d, digest.rework_rate_30d, digest.new, digest.closed_30d)
    assert (previous.median_claim_seconds, previous.p90_resolve_seconds) == (
        digest.median_claim_seconds, digest.p90_resolve_seconds)
    assert previous.median_claim_seconds is not None
    assert previous.overdue == digest.trend[-1].overdue  # at the end of that day, not now
    assert previous.on_time_close_rate == pytest.approx(_close_rate(digest, digest.trend[-1].overdue))
    assert later.digest.closed_30d == 0 and later.change("rework_rate_30d") is None
    assert later.change("closed_30d") == -digest.closed_30d
    assert later.change("median_claim_seconds") is None  # nothing claimed in the later week
    with Session(digest_engine) as session:
        same = overview(session, rules=RULES, area="d", day=DAY + timedelta(days=20), now=NOW)
    now_d = build(digest_engine, day=DAY + timedelta(days=20))
    before_d = build(digest_engine, day=DAY - timedelta(days=10))
    assert same.change("on_time_close_rate") == pytest.approx(
        _close_rate(now_d, now_d.overdue) - _close_rate(before_d, before_d.trend[-1].overdue))
    assert same.change("on_time_close_rate") != 0


def test_team_league(engine: Engine) -> None:
    rules = make_rules(teams={"fix": {"name": {"zh": "维修队", "en": "Fixers"}, "area": "c1"},
                              "far": {"name": {"zh": "远队", "en": "Far"}, "area": "c2"}})
    with Session(engine) as session:
        reporter = seed_people(session)["resident"].id
        assert reporter is not None
        for n, status, resolved in ((1, "closed", NOW - timedelta(days=2)), (2, "claimed", None),
                                    (3, "open", None)):
            created = NOW - timedelta(days=3)
            session.add(Ticket(id=n, status=status, category="other", area="g1", target="team:fix",
                               reporter_id=reporter, chat_id=1, source_message_id=n, created_at=created,
                               updated_at=created, resolve_by=created + timedelta(days=2 if n == 2 else 5),
                               resolved_at=resolved, closed_at=resolved))
        session.commit()
        view = overview(session, rules=rules, area="c1", day=DAY, now=NOW)
        district = overview(session, rules=rules, area="d", day=DAY, now=NOW)
    [fix] = view.teams  # c2's team is not c1's to see
    assert (fix.team, fix.open, fix.overdue, fix.closed_30d, fix.on_time_30d) == ("fix", 2, 1, 1, 1)
    assert {r.team for r in district.teams} == {"fix", "far"}
