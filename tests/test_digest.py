"""Digest figures checked against values computed by hand on a small fixture."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from test_sweep import RULES, seed_people

from cases.db import session_scope
from cases.digest import Digest, build_digest, rag_status
from cases.models import Ticket

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2025, 3, 5)


def L(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Shanghai local time as UTC."""
    return datetime(2025, month, day, hour, minute, tzinfo=SH).astimezone(UTC)


NOW = L(3, 6, 8, 30)
H = timedelta(hours=1)


def seed_digest_fixture(session: Session) -> dict[str, Any]:
    """Eight tickets whose figures are worked out by hand in the tests below."""
    people = seed_people(session)
    worker, reporter = people["worker"].id, people["resident"].id
    assert reporter is not None

    def add(n: int, grid: str, status: str, created: datetime, **kw: Any) -> None:
        kw.setdefault("resolve_by", created + 24 * H)
        session.add(Ticket(id=n, status=status, category="other", area=grid, target=f"grid:{grid}",
                           reporter_id=reporter, chat_id=1, source_message_id=n, created_at=created,
                           updated_at=created, opened_at=created, **kw))

    add(1, "g1", "open", L(3, 5, 10))
    add(2, "g1", "claimed", L(3, 3, 10), claimed_by=worker, claimed_at=L(3, 3, 11), escalation_level=2)
    add(3, "g2", "closed", L(3, 4, 9), claimed_by=worker, claimed_at=L(3, 4, 10), resolved_at=L(3, 4, 12),
        closed_at=L(3, 5, 15))
    add(4, "g2", "closed", L(3, 1, 9), claimed_by=worker, claimed_at=L(3, 2, 9), resolved_at=L(3, 3, 9),
        closed_at=L(3, 5, 9), reopen_count=1)
    add(5, "g3", "open", L(3, 5, 20))
    add(6, "g3", "claimed", L(3, 4, 6), claimed_by=worker, claimed_at=L(3, 4, 8), escalation_level=1)
    add(7, "g3", "closed", L(2, 10, 9), claimed_by=worker, claimed_at=L(2, 10, 10), resolved_at=L(2, 10, 12),
        closed_at=L(2, 12, 9))
    add(8, "g1", "cancelled", L(3, 5, 11), closed_at=L(3, 5, 12))
    session.flush()
    return people


@pytest.fixture
def digest_engine(engine: Engine) -> Engine:
    with session_scope(engine) as s:
        seed_digest_fixture(s)
    return engine


def build(engine: Engine, area: str = "d", day: date = DAY, now: datetime = NOW) -> Digest:
    with Session(engine) as s:
        return build_digest(s, rules=RULES, area=area, day=day, now=now)


def test_district_figures(digest_engine: Engine) -> None:
    d = build(digest_engine)
    assert (d.area, d.kind, d.day) == ("d", "district", DAY)
    assert (d.new, d.closed, d.open, d.overdue, d.max_level) == (3, 2, 4, 2, 2)
    assert (d.closed_7d, d.on_time_7d, d.on_time_rate_7d) == (2, 1, 0.5)
    assert (d.closed_30d, d.on_time_30d) == (3, 2)
    assert d.on_time_rate_30d == pytest.approx(2 / 3)
    assert d.rework_rate_30d == pytest.approx(1 / 3)
    assert d.median_claim_seconds == pytest.approx(1.5 * 3600)  # 1h, 1h, 2h, 24h
    assert d.median_resolve_seconds == pytest.approx(25.5 * 3600)  # 3h, 48h
    assert d.status == "red"


def test_grid_table_and_statuses(digest_engine: Engine) -> None:
    rows = {row.grid: row for row in build(digest_engine).grids}
    assert list(rows) == ["g1", "g2", "g3"]
    g1, g2, g3 = rows["g1"], rows["g2"], rows["g3"]
    assert (g1.open, g1.overdue, g1.max_level, g1.new, g1.closed, g1.on_time_rate_30d) == (2, 1, 2, 2, 0, None)
    assert g1.status == "red"  # a ticket at level 2
    assert (g2.closed, g2.closed_30d, g2.on_time_30d, g2.on_time_rate_30d) == (2, 2, 1, 0.5)
    assert g2.status == "red"  # on-time rate 50 % < 80 %
    assert (g3.open, g3.overdue, g3.max_level, g3.on_time_rate_30d) == (2, 1, 1, 1.0)
    assert g3.status == "amber"  # overdue, rate fine


def test_rag_thresholds() -> None:
    assert rag_status(max_level=0, overdue=0, on_time_rate=None) == "green"
    assert rag_status(max_level=0, overdue=0, on_time_rate=0.95) == "green"
    assert rag_status(max_level=0, overdue=0, on_time_rate=0.94) == "amber"
    assert rag_status(max_level=1, overdue=1, on_time_rate=1.0) == "amber"
    assert rag_status(max_level=0, overdue=0, on_time_rate=0.79) == "red"
    assert rag_status(max_level=2, overdue=1, on_time_rate=1.0) == "red"


def test_overdue_list_oldest_first(digest_engine: Engine) -> None:
    listed = build(digest_engine).overdue_tickets
    assert [t.id for t in listed] == [2, 6]
    first = listed[0]
    assert (first.number, first.holder_name, first.level, first.status) == ("#2", "worker", 2, "claimed")
    assert first.age_seconds == int((NOW - L(3, 3, 10)).total_seconds())
    assert first.overdue_seconds == int((NOW - L(3, 4, 10)).total_seconds())


def test_trend(digest_engine: Engine) -> None:
    trend = build(digest_engine).trend
    assert len(trend) == 30 and trend[0].day == date(2025, 2, 4) and trend[-1].day == DAY
    by_day = {p.day: p for p in trend}
    assert [p.day for p in trend if p.new] == [date(2025, 2, 10), date(2025, 3, 1), date(2025, 3, 3),
                                               date(2025, 3, 4), DAY]
    assert by_day[DAY].new == 3 and by_day[date(2025, 3, 4)].new == 2
    assert {p.day: p.closed for p in trend if p.closed} == {date(2025, 2, 12): 1, DAY: 2}
    assert {p.day: p.overdue for p in trend if p.overdue} == {
        date(2025, 3, 2): 1, date(2025, 3, 4): 1, DAY: 2,
    }


def test_sub_areas(digest_engine: Engine) -> None:
    street = build(digest_engine, "s1")  # g1 and g2
    assert (street.new, street.closed, street.overdue, street.open) == (2, 2, 1, 2)
    assert [row.grid for row in street.grids] == ["g1", "g2"]
    grid = build(digest_engine, "g2")
    assert grid.overdue == 0 and grid.all_clear and grid.status == "red"  # late closures
    assert build(digest_engine, "g3").overdue_tickets[0].id == 6


def test_round_trip_through_dict(digest_engine: Engine) -> None:
    import json

    d = build(digest_engine)
    again = Digest.from_dict(json.loads(json.dumps(d.to_dict())))
    assert again == d


def test_unknown_area(digest_engine: Engine) -> None:
    with pytest.raises(ValueError, match="unknown area"):
        build(digest_engine, "nowhere")
