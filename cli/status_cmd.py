"""``gridbot status``: is the bot doing its job? Read from the database, so it works beside a running bot."""

from __future__ import annotations

import json

import typer

from cases.clock import utcnow
from cases.db import read_scope
from cases.health import Health, check_health, problems
from cli.common import settings
from cli.db_cmd import open_database, shown


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def render(health: Health, database: str) -> list[str]:
    """The status as lines of text."""
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
        f"{health.outbox_failed_recently} failed in the last day; {health.unreachable_people} people blocked the bot",
        f"tickets:  {health.open_tickets} open, {health.overdue_tickets} overdue, "
        f"{health.held_tickets} held for review",
    ]
    lines += [f"job {job.name}: last ok {_age(job.last_ok_age)} ago, runs every {_age(job.interval_seconds)}; "
              f"{job.runs} runs, {job.failures} failed" + (f"; last run FAILED: {job.last_error}"
                                                            if job.last_error else "")
              for job in health.jobs]
    found = problems(health)
    lines += [f"PROBLEM: {p}" for p in found] if found else ["all well"]
    return lines


def status(
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON"),
    check: bool = typer.Option(False, "--check", help="exit 1 when there is a problem (for monitoring)"),
) -> None:
    """Show whether the bot is running and keeping up: leader, waiting updates and messages, tickets."""
    url = settings().database_url
    engine = open_database(url)
    try:
        with read_scope(engine) as session:
            health = check_health(session, now=utcnow())
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(health.to_dict(), ensure_ascii=False, indent=2))
    else:
        for line in render(health, shown(url)):
            typer.echo(line)
    if check and problems(health):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``status`` to ``app``."""
    app.command("status")(status)
