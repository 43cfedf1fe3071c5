"""The holiday calendar check: a rules file whose working-day limits would count next year's holidays as
working days is reported before that happens, in ``gridbot rules check`` and the district's digest."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from bot.app import build_app
from cases.digest import build_digest
from cases.digest_render import digest_lines
from cases.holiday_calendar import check_calendar, check_calendar_at, missing_years, summary_line
from cases.rules.schema import Rules
from cases.settings import Settings
from cli.main import app


def without_working_time(rules: Rules) -> Rules:
    """The rules with every limit in wall-clock time and no holidays."""
    categories = {name: c.model_copy(update={"resolve_within": None, "claim_within": None})
                  for name, c in rules.categories.items()}
    return with_holidays(rules).model_copy(update={"categories": categories})


def with_holidays(rules: Rules, *days: date) -> Rules:
    return rules.model_copy(update={"working_hours": rules.working_hours.model_copy(update={"holidays": list(days)})})


def test_the_sample_calendar_mid_year_has_nothing_to_say(rules: Rules) -> None:
    check = check_calendar(rules, date(2026, 6, 1))
    assert (check.problems, check.warnings) == ([], [])
    assert check.holidays_per_year == {2026: 19, 2027: 1}
    assert check.used_by == ["drainage: resolve", "streetlight: resolve", "road: resolve", "greenery: resolve"]


def test_a_month_before_new_year_next_years_holidays_are_asked_for(rules: Rules) -> None:
    # The sample lists only 1 January 2027: New Year's Day alone is not a year's calendar.
    assert missing_years(rules, date(2026, 11, 30)) == []  # 32 days ahead: not yet
    check = check_calendar(rules, date(2026, 12, 5))
    assert check.problems == []
    assert check.warnings == [
        "working_hours.holidays (4 limits count working days) lists no public holidays for 2027, which starts "
        "in 27 days: add them when the State Council publishes its notice"]
    listed = with_holidays(rules, date(2026, 10, 1), date(2027, 1, 1), date(2027, 2, 6))
    assert check_calendar(listed, date(2026, 12, 5)).warnings == []


def test_a_year_with_no_holidays_listed_is_a_problem(rules: Rules) -> None:
    check = check_calendar(rules, date(2027, 3, 1))
    assert check.problems == [
        "working_hours.holidays (4 limits count working days) lists no public holidays for 2027: working-day "
        "deadlines this year count the holidays as working days; add them from the State Council's notice"]
    assert missing_years(rules, date(2027, 12, 20)) == [2027, 2028]


def test_rules_without_working_time_need_no_holidays(rules: Rules) -> None:
    plain = without_working_time(rules)
    check = check_calendar(plain, date(2031, 12, 20))
    assert (check.used_by, check.problems, check.warnings) == ([], [], [])
    assert summary_line(check) == "public holidays: none (no limit counts working days)"
    assert summary_line(check_calendar(rules, date(2026, 6, 1))) == \
        "public holidays: 19 in 2026, 1 in 2027 (4 limits count working days)"


def test_the_date_is_the_rules_local_date(rules: Rules) -> None:
    # 2026-11-30 16:30 UTC is already 1 December in Shanghai: 31 days before 2027.
    assert check_calendar_at(rules, datetime(2026, 11, 30, 16, 30, tzinfo=UTC)).warnings
    assert not check_calendar_at(rules, datetime(2026, 11, 30, 15, 0, tzinfo=UTC)).warnings


def test_the_district_digest_carries_the_reminder_and_a_streets_does_not(engine: Engine, rules: Rules) -> None:
    day, now = date(2026, 12, 10), datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
    with Session(engine) as s:
        district = build_digest(s, rules=rules, area="dongting", day=day, now=now)
        street = build_digest(s, rules=rules, area="jineshan", day=day, now=now)
        mid_year = build_digest(s, rules=rules, area="dongting", day=date(2026, 6, 1), now=now)
    assert (district.holidays_missing, street.holidays_missing, mid_year.holidays_missing) == ([2027], [], [])
    assert digest_lines(district, rules, "zh")[-1] == (
        "⚠️ 规则文件尚未列出 2027 年的法定节假日，按工作日计算的时限会把节假日算作工作日。"
        "请按国务院放假通知补充 working_hours.holidays。")
    assert digest_lines(district, rules, "en")[-1].startswith("⚠️ The rules file lists no public holidays for 2027")
    assert not any("⚠️" in line for line in digest_lines(street, rules, "en"))
    again = type(district).from_dict(district.to_dict())  # the notice carries it to the bot
    assert again.holidays_missing == [2027]


def test_rules_check_prints_the_holidays_line() -> None:
    result = CliRunner().invoke(app, ["rules", "check", "routing_rules.yaml"])
    assert result.exit_code == 0, result.output
    assert "  public holidays: 19 in 2026, 1 in 2027 (4 limits count working days)" in result.output.splitlines()


def test_the_bot_says_so_in_its_log_when_it_starts(tmp_path: Path, rules: Rules,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(token="1:calendar", api_base_url="http://127.0.0.1:9/bot",
                        database_url=f"sqlite:///{tmp_path / 'bot.db'}")
    with caplog.at_level(logging.WARNING):
        built = build_app(settings, rules=with_holidays(rules), clock=lambda: datetime(2026, 6, 1, tzinfo=UTC))
    built.engine.dispose()
    assert [r.getMessage() for r in caplog.records if "public holidays" in r.getMessage()] == [
        "rules: working_hours.holidays (4 limits count working days) lists no public holidays for 2026: "
        "working-day deadlines this year count the holidays as working days; add them from the State Council's "
        "notice"]
