"""Working-time calendar: weekends, holidays, make-up days, DST (New York) and Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.rules.schema import WorkingHours
from cases.working_time import NoWorkingDaysError, WorkingCalendar, WorkingDays

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)  # type: ignore[arg-type, misc]


def shanghai(**kw: object) -> WorkingCalendar:
    return WorkingCalendar(WorkingHours(**kw), SH)


def test_within_one_day() -> None:
    cal = shanghai()
    start = local(SH, 2025, 3, 3, 10)  # Monday
    assert cal.add_working(start, timedelta(hours=3)) == local(SH, 2025, 3, 3, 13).astimezone(UTC)


def test_result_is_utc() -> None:
    cal = shanghai()
    result = cal.add_working(local(SH, 2025, 3, 3, 10), timedelta(hours=1))
    assert result.tzinfo is UTC


def test_over_the_weekend() -> None:
    cal = shanghai()
    start = local(SH, 2025, 3, 7, 16)  # Friday 16:00, two hours left that day
    assert cal.add_working(start, timedelta(hours=8)) == local(SH, 2025, 3, 10, 15).astimezone(UTC)
    assert cal.working_between(start, local(SH, 2025, 3, 10, 15)) == timedelta(hours=8)


def test_start_outside_hours_begins_next_morning() -> None:
    cal = shanghai()
    saturday = local(SH, 2025, 3, 8, 11)
    assert cal.add_working(saturday, timedelta(hours=2)) == local(SH, 2025, 3, 10, 11).astimezone(UTC)
    evening = local(SH, 2025, 3, 4, 20)
    assert cal.add_working(evening, timedelta(hours=1)) == local(SH, 2025, 3, 5, 10).astimezone(UTC)


def test_exactly_the_rest_of_the_day_ends_at_closing() -> None:
    cal = shanghai()
    assert cal.add_working(local(SH, 2025, 3, 3, 9), timedelta(hours=9)) == local(SH, 2025, 3, 3, 18).astimezone(UTC)


def test_holiday_and_make_up_day() -> None:
    # Qingming 2025: Friday 4 April off; Sunday 27 April a make-up working day.
    cal = shanghai(holidays=[date(2025, 4, 4)], extra_workdays=[date(2025, 4, 27)])
    start = local(SH, 2025, 4, 3, 17)  # Thursday 17:00
    assert cal.add_working(start, timedelta(hours=2)) == local(SH, 2025, 4, 7, 10).astimezone(UTC)
    assert not cal.is_workday(date(2025, 4, 4))
    assert cal.is_workday(date(2025, 4, 27))
    saturday = local(SH, 2025, 4, 26, 12)
    assert cal.add_working(saturday, timedelta(hours=1)) == local(SH, 2025, 4, 27, 10).astimezone(UTC)


def test_working_days() -> None:
    cal = shanghai()
    assert cal.add_working(local(SH, 2025, 3, 3, 10), WorkingDays(2)) == local(SH, 2025, 3, 5, 10).astimezone(UTC)
    # From Friday 10:00, two working days is Tuesday 10:00.
    assert cal.add_working(local(SH, 2025, 3, 7, 10), WorkingDays(2)) == local(SH, 2025, 3, 11, 10).astimezone(UTC)
    # Reported on Saturday: the clock starts Monday morning; two full days end Tuesday at closing.
    assert cal.add_working(local(SH, 2025, 3, 8, 10), WorkingDays(2)) == local(SH, 2025, 3, 11, 18).astimezone(UTC)


def test_dst_spring_forward_new_york() -> None:
    cal = WorkingCalendar(WorkingHours(), NY)
    start = local(NY, 2025, 3, 7, 16)  # Friday EST; clocks go forward on Sunday 9 March
    end = cal.add_working(start, timedelta(hours=8))
    assert end == local(NY, 2025, 3, 10, 15).astimezone(UTC)  # Monday 15:00 EDT
    assert end - start.astimezone(UTC) == timedelta(days=2, hours=22)  # one wall hour vanished
    assert cal.working_between(start, end) == timedelta(hours=8)


def test_dst_fall_back_new_york_working_day_keeps_local_hours() -> None:
    cal = WorkingCalendar(WorkingHours(), NY)
    start = local(NY, 2025, 10, 31, 17)  # Friday EDT; clocks go back on Sunday 2 November
    end = cal.add_working(start, WorkingDays(1))
    assert end == local(NY, 2025, 11, 3, 17).astimezone(UTC)  # Monday 17:00 EST
    assert end - start.astimezone(UTC) == timedelta(days=3, hours=1)


def test_dst_inside_working_hours_counts_real_time() -> None:
    # Round-the-clock "working hours" on the night clocks jump: that local day has 23 real hours.
    cal = WorkingCalendar(WorkingHours(days=["sun"], start=time(0, 0), end=time(23, 59)), NY)
    day = date(2025, 3, 9)
    begin, end = cal.hours_of(day)  # type: ignore[misc]
    assert end - begin == timedelta(hours=22, minutes=59)


def test_working_between_is_antisymmetric_and_zero_on_weekend() -> None:
    cal = shanghai()
    a, b = local(SH, 2025, 3, 8, 9), local(SH, 2025, 3, 9, 20)
    assert cal.working_between(a, b) == timedelta(0)
    c = local(SH, 2025, 3, 11, 12)
    assert cal.working_between(c, a) == -cal.working_between(a, c)


def test_no_working_days_is_an_error() -> None:
    cal = WorkingCalendar(WorkingHours(days=[]), SH)
    with pytest.raises(NoWorkingDaysError):
        cal.add_working(local(SH, 2025, 3, 3, 10), timedelta(hours=1))


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31)),
    minutes=st.integers(min_value=1, max_value=60 * 60),
    zone=st.sampled_from([SH, NY]),
)
def test_add_then_measure_round_trips(start: datetime, minutes: int, zone: ZoneInfo) -> None:
    cal = WorkingCalendar(WorkingHours(holidays=[date(2025, 1, 1)], extra_workdays=[date(2025, 1, 4)]), zone)
    begin = start.replace(tzinfo=UTC)
    amount = timedelta(minutes=minutes)
    end = cal.add_working(begin, amount)
    assert cal.working_between(begin, end) == amount
    # The end lies inside working hours (possibly exactly at closing).
    interval = cal.hours_of(cal.local_date(end))
    assert interval is not None and interval[0] < end <= interval[1]
