"""``gridbot status``: is the bot doing its job? Read from the database, so it works beside a running bot."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer

from cases.clock import utcnow
from cases.db import read_scope
from cases.health import Health, check_health, problems
from cases.holiday_calendar import check_calendar_at
from cases.redact import redact
from cases.rules.loader import RulesError, load_rules
from cli import common, texts
from cli.common import shown
from cli.db_cmd import open_database


def _age(seconds: float | None, lang: str) -> str:
    return "-" if seconds is None else texts.seconds(seconds, lang)


def rules_notes(path: str, now: datetime, lang: str = "en") -> tuple[list[str], list[str]]:
    """Problems and warnings about the rules file, in ``lang``: it must load (the bot's next start reads it),
    and its holiday calendar must cover this year and, in the last month, the next."""
    try:
        rules = load_rules(path)
    except RulesError as exc:
        if not Path(path).exists():
            return [texts.t("status_rules_missing", lang, path=Path(path).absolute())], []
        count = len(exc.issues)
        return [texts.t("status_rules_broken", lang, path=path, count=count,
                        errors=texts.plural_errors(count, lang))], []
    except OSError as exc:
        return [texts.t("status_rules_unreadable", lang, path=path, reason=exc.strerror or exc)], []
    calendar = check_calendar_at(rules, now, lang=lang)
    return calendar.problems, calendar.warnings


def render(health: Health, database: str, *, found: list[str] | None = None,
           warnings: list[str] | None = None, lang: str = "en") -> list[str]:
    """The status as lines of text in ``lang``; ``found`` are the problems (by default those of ``health``)."""
    if health.leader is None:
        leader = texts.t("status_no_leader", lang)
    elif (health.leader_expires_in or 0) >= 0:
        leader = texts.t("status_lease_left", lang, leader=health.leader,
                         left=_age(health.leader_expires_in, lang))
    else:
        leader = texts.t("status_lease_out", lang, leader=health.leader,
                         ago=_age(-(health.leader_expires_in or 0), lang))
    lines = [
        texts.t("status_database", lang, value=database),
        texts.t("status_leader", lang, value=leader),
        texts.t("status_inbox", lang, waiting=health.inbox_waiting, oldest=_age(health.inbox_oldest_age, lang),
                given_up=health.inbox_given_up_recently),
        texts.t("status_outbox", lang, waiting=health.outbox_waiting,
                oldest=_age(health.outbox_oldest_due_age, lang), failed=health.outbox_failed_recently,
                hour=health.outbox_failed_last_hour, blocked=health.unreachable_people),
        texts.t("status_tickets", lang, open=health.open_tickets, overdue=health.overdue_tickets,
                held=health.held_tickets),
    ]
    lines += [texts.t("status_job", lang, job=job.name, ok=_age(job.last_ok_age, lang),
                      every=_age(job.interval_seconds, lang), runs=job.runs, failures=job.failures)
              + (texts.t("status_job_failed", lang, error=job.last_error) if job.last_error else "")
              for job in health.jobs]
    found = problems(health, lang=lang) if found is None else found
    lines += [texts.t("status_warning", lang, text=w) for w in warnings or []]
    lines += [texts.t("status_problem", lang, text=p) for p in found] if found else [texts.t("status_all_well", lang)]
    return lines


def status(
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON"),
    check: bool = typer.Option(False, "--check", help="exit 1 when there is a problem (for monitoring); 2 on a "
                               "configuration error, 3 when the database cannot be reached"),
) -> None:
    """Show whether the bot is running and keeping up: leader, waiting updates and messages, tickets, and
    whether the rules file still loads and its holiday calendar is current."""
    url, now = common.database_url(), utcnow()
    engine = open_database(url)  # refuses a database that is missing or behind: status creates nothing
    try:
        with read_scope(engine) as session:
            health = check_health(session, now=now)
    finally:
        engine.dispose()
    rules, origin = common.rules_path()
    common.say_using("rules", rules, origin)
    lang = "en" if as_json else common.lang()  # JSON: machine keys, and its sentences stay English
    rules_problems, rules_warnings = rules_notes(rules, now, lang)
    found = problems(health, lang=lang) + rules_problems
    if as_json:
        figures = health.to_dict() | {"problems": found, "warnings": rules_warnings}
        typer.echo(redact(json.dumps(figures, ensure_ascii=False, indent=2)))
    else:
        for line in render(health, shown(url), found=found, warnings=rules_warnings, lang=lang):
            typer.echo(redact(line))  # a job's last error may quote a Bot API URL
    if check and found:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``status`` to ``app``."""
    app.command("status")(status)
