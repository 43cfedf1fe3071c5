"""Working time: a calendar built from ``rules.working_hours`` in the rules' time zone.

Working time runs only inside the daily working hours of working days. A working day is a listed
weekday that is not a holiday, or a make-up day from ``extra_workdays``. Hours are local wall-clock
times converted to UTC day by day, so a day that crosses a daylight-saving change is still counted by
the real time that passes. Every datetime returned is timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from cases.clock import as_utc
from cases.rules.schema import WEEKDAYS, Rules, WorkingHours

_SEARCH_DAYS = 400  # how far ahead we look for a working day before giving up


@dataclass(frozen=True)
class WorkingDays:
    """A whole number of working days (``2 working days``)."""

    count: int


class NoWorkingDaysError(ValueError):
    """The working hours define no working day in the period searched."""


class WorkingCalendar:
    """Adds and measures working time in one time zone."""

    def __init__(self, hours: WorkingHours, zone: ZoneInfo) -> None:
        self.hours = hours
        self.zone = zone
        self._days = {WEEKDAYS.index(day) for day in hours.days}
        self._holidays = set(hours.holidays)
        self._extra = set(hours.extra_workdays)

    @classmethod
    def from_rules(cls, rules: Rules) -> WorkingCalendar:
        """The calendar of ``rules.working_hours`` in ``rules.zone``."""
        return cls(rules.working_hours, rules.zone)

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` (a local date) is a working day."""
        if day in self._extra:
            return True
        return day.weekday() in self._days and day not in self._holidays

    def hours_of(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC interval of working hours on local ``day``, or None on a day off."""
        if not self.is_workday(day):
            return None
        start = datetime.combine(day, self.hours.start, tzinfo=self.zone).astimezone(UTC)
        end = datetime.combine(day, self.hours.end, tzinfo=self.zone).astimezone(UTC)
        return start, end

    def local_date(self, moment: datetime) -> date:
        """The local date of ``moment``."""
        return as_utc(moment).astimezone(self.zone).date()

    def _iter(self, day: date) -> _DayIterator:
        return _DayIterator(self, day)

    def add_working(self, start: datetime, amount: timedelta | WorkingDays) -> datetime:
        """The moment when ``amount`` of working time has passed since ``start``.

        For ``WorkingDays(n)``: the same point of the working day ``n`` working days later; when the
        clock starts at the beginning of a working day (or outside working hours), the end of the
        ``n``-th working day counting that one.
        """
        start = as_utc(start)
        if isinstance(amount, WorkingDays):
            return self._add_days(start, amount.count)
        if amount < timedelta(0):
            raise ValueError("add_working needs a non-negative amount")
        remaining = amount
        if remaining == timedelta(0):
            return start
        for begin, end in self._iter(self.local_date(start)):
            if start >= end:
                continue
            segment_start = max(start, begin)
            available = end - segment_start
            if remaining <= available:
                return segment_start + remaining
            remaining -= available
        raise AssertionError("unreachable")  # pragma: no cover

    def _add_days(self, start: datetime, count: int) -> datetime:
        if count <= 0:
            return start
        days = iter(self._iter(self.local_date(start)))
        begin, end = next(days)
        while start >= end:
            begin, end = next(days)
        offset = max(start - begin, timedelta(0))
        if offset == timedelta(0):
            for _ in range(count - 1):
                begin, end = next(days)
            return end
        for _ in range(count):
            begin, end = next(days)
        return min(begin + offset, end)

    def working_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        a, b = as_utc(a), as_utc(b)
        if b < a:
            return -self.working_between(b, a)
        total = timedelta(0)
        day = self.local_date(a)
        last = self.local_date(b)
        while day <= last:
            interval = self.hours_of(day)
            if interval is not None:
                begin, end = max(interval[0], a), min(interval[1], b)
                if end > begin:
                    total += end - begin
            day += timedelta(days=1)
        return total


class _DayIterator:
    """Working-hour intervals (UTC) of successive working days from a local date."""

    def __init__(self, calendar: WorkingCalendar, day: date) -> None:
        self.calendar = calendar
        self.day = day

    def __iter__(self) -> _DayIterator:
        return self

    def __next__(self) -> tuple[datetime, datetime]:
        for _ in range(_SEARCH_DAYS):
            day = self.day
            self.day += timedelta(days=1)
            interval = self.calendar.hours_of(day)
            if interval is not None:
                return interval
        raise NoWorkingDaysError(
            f"no working day within {_SEARCH_DAYS} days after {self.day - timedelta(days=_SEARCH_DAYS)}; "
            "check working_hours.days, holidays and extra_workdays"
        )


def calendar_for(rules: Rules) -> WorkingCalendar:
    """The working calendar of ``rules``."""
    return WorkingCalendar.from_rules(rules)
