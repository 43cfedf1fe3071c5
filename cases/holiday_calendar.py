"""Is the holiday calendar up to date? Working-day limits ('2 working days') skip the public holidays
listed in ``working_hours``; those are copied by hand each year from the State Council's notice. When
nobody does, the next year's Spring Festival silently counts as working days and deadlines fall in
the middle of it. This module says so before that happens (``gridbot status``, ``gridbot rules check``,
the bot's log at start). It is pure: the caller gives today's local date.

A year counts as listed when it has a holiday after 1 January: next New Year's Day is often written
down with the current year's list, and on its own it is not that year's calendar.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from cases.clock import as_utc
from cases.ops_texts import ops_text
from cases.rules.schema import Rules

NOTICE = timedelta(days=31)
"""How long before a year starts its holidays should be listed (the notice is usually out by then)."""


@dataclass(frozen=True)
class CalendarCheck:
    """What the rules' holiday calendar lacks on a given day: problems (deadlines are wrong now) and
    warnings (they will be soon)."""

    used_by: list[str] = field(default_factory=list)  # limits counted in working time, e.g. "gas: resolve"
    holidays_per_year: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def working_time_limits(rules: Rules) -> list[str]:
    """The limits that count working time, as ``"<category or defaults>: <resolve|claim>"``."""
    found = [f"defaults: {kind}" for kind, limit in (("resolve", rules.defaults.resolve_within),
                                                     ("claim", rules.defaults.claim_within)) if limit.working]
    for name, category in rules.categories.items():
        for kind, maybe in (("resolve", category.resolve_within), ("claim", category.claim_within)):
            if maybe is not None and maybe.working:
                found.append(f"{name}: {kind}")
    return found


def _listed(holidays: list[date], year: int) -> bool:
    return any(day.year == year and (day.month, day.day) != (1, 1) for day in holidays)


def missing_years(rules: Rules, today: date, *, notice: timedelta = NOTICE) -> list[int]:
    """The years whose holidays ``rules`` should list on local date ``today`` and do not: this year, and
    the next one within ``notice`` of its start. Empty when no limit counts working time."""
    return _unlisted_years(rules, today, notice) if working_time_limits(rules) else []


def _unlisted_years(rules: Rules, today: date, notice: timedelta) -> list[int]:
    holidays = rules.working_hours.holidays
    years = [today.year] if not _listed(holidays, today.year) else []
    next_year = today.year + 1
    if date(next_year, 1, 1) - today <= notice and not _listed(holidays, next_year):
        years.append(next_year)
    return years


def check_calendar(rules: Rules, today: date, *, notice: timedelta = NOTICE, lang: str = "en") -> CalendarCheck:
    """Check the holidays of ``rules`` on local date ``today`` (said in ``lang``); nothing to say when no limit
    uses working time."""
    used_by = working_time_limits(rules)
    counts = Counter(day.year for day in rules.working_hours.holidays)
    check = CalendarCheck(used_by=used_by, holidays_per_year=dict(sorted(counts.items())))
    where = ops_text("calendar_where", lang, count=len(used_by))
    for year in _unlisted_years(rules, today, notice) if used_by else []:
        if year == today.year:
            check.problems.append(ops_text("calendar_missing_now", lang, where=where, year=year))
        else:
            days = (date(year, 1, 1) - today).days
            check.warnings.append(ops_text("calendar_missing_next", lang, where=where, year=year, days=days))
    return check


def check_calendar_at(rules: Rules, now: datetime, *, lang: str = "en") -> CalendarCheck:
    """:func:`check_calendar` on the local date of ``now`` in the rules' time zone."""
    return check_calendar(rules, as_utc(now).astimezone(rules.zone).date(), lang=lang)


def summary_line(check: CalendarCheck, lang: str = "en") -> str:
    """One line for ``gridbot rules check``: holidays per year and who uses them."""
    years = ops_text("list_sep", lang).join(ops_text("calendar_year", lang, count=count, year=year)
                                            for year, count in check.holidays_per_year.items())
    users = (ops_text("calendar_users", lang, count=len(check.used_by)) if check.used_by
             else ops_text("calendar_no_users", lang))
    return ops_text("calendar_summary", lang, years=years or ops_text("calendar_none", lang), users=users)
