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
from cases.rules.loader import RulesError, load_rules
from cli import common
from cli.common import shown
from cli.db_cmd import open_database
from cli.redact import redact


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def rules_notes(path: str, now: datetime) -> tuple[list[str], list[str]]:
    """Problems and warnings about the rules file: it must load (the bot's next start reads it), and its
    holiday calendar must cover this year and, in the last month, the next."""
    try:
        rules = load_rules(path)
    except RulesError as exc:
        if not Path(path).exists():
            return [f"the rules file {Path(path).absolute()} is not there: the bot will not start again; set "
                    "GRIDBOT_RULES or --rules"], []
        count = len(exc.issues)
        return [f"the rules file {path} does not load ({count} error{'s' if count != 1 else ''}): the bot will "
                f"not start again until it is fixed; run gridbot rules check"], []
    except OSError as exc:
        return [f"the rules file {path} cannot be read: {exc.strerror or exc}"], []
    calendar = check_calendar_at(rules, now)
    return calendar.problems, calendar.warnings


def render(health: Health, database: str, *, found: list[str] | None = None,
           warnings: list[str] | None = None) -> list[str]:
    """The status as lines of text; ``found`` are the problems (by default those of ``health``)."""
    if health.leader is None:
        leader = "none yet"
    elif (health.leader_expires_in or 0) >= 0:
        leader = f"{health.leader} (lease renewed, {health.leader_expires_in:.0f} s left)"
    else:
        leader = f"{health.leader} (lease ran out {_age(-(health.leader_expires_in or 0))} ago)"
    lines = [
        f"database: {database}",
        f"leader:   {leader}",
        f"inbox:    {health.inbox_waiting} waiting (oldest {_age(health.inbox_oldest_age)}), "
        f"{health.inbox_given_up_recently} given up in the last day",
        f"outbox:   {health.outbox_waiting} waiting (oldest due {_age(health.outbox_oldest_due_age)}), "
        f"{health.outbox_failed_recently} failed in the last day ({health.outbox_failed_last_hour} in the last hour); "
        f"{health.unreachable_people} people blocked the bot",
        f"tickets:  {health.open_tickets} open, {health.overdue_tickets} overdue, "
        f"{health.held_tickets} held for review",
    ]
    lines += [f"job {job.name}: last ok {_age(job.last_ok_age)} ago, runs every {_age(job.interval_seconds)}; "
              f"{job.runs} runs, {job.failures} failed" + (f"; last run FAILED: {job.last_error}"
                                                            if job.last_error else "")
              for job in health.jobs]
    found = problems(health) if found is None else found
    lines += [f"WARNING: {w}" for w in warnings or []]
    lines += [f"PROBLEM: {p}" for p in found] if found else ["all well"]
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
    rules_problems, rules_warnings = rules_notes(rules, now)
    found = problems(health) + rules_problems
    if as_json:
        figures = health.to_dict() | {"problems": found, "warnings": rules_warnings}
        typer.echo(redact(json.dumps(figures, ensure_ascii=False, indent=2)))
    else:
        for line in render(health, shown(url), found=found, warnings=rules_warnings):
            typer.echo(redact(line))  # a job's last error may quote a Bot API URL
    if check and found:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``status`` to ``app``."""
    app.command("status")(status)
