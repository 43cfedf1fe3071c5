"""``gridbot seed``: a realistic month of tickets in every state, to try the admin commands on."""

from __future__ import annotations

from datetime import datetime

import typer
from sqlmodel import func, select

from bot.render import status_label
from cases.clock import as_utc, utcnow
from cases.db import session_scope
from cases.models import Ticket
from cases.ops_texts import ops_text
from cli import common, texts
from cli.db_cmd import open_database, open_rules, shown


def seed(
    database: str | None = typer.Option(None, "--database", help="database URL (default: GRIDBOT_DATABASE_URL)"),
    days: int = typer.Option(30, "--days", min=1, max=366, help="how many days of tickets"),
    per_day: int = typer.Option(8, "--per-day", min=1, max=200, help="about how many reports a day"),
    end: str | None = typer.Option(None, "--end", help="the month ends at this moment (ISO; default: now)"),
    seed_value: int = typer.Option(7, "--seed", help="the same seed makes the same month"),
) -> None:
    """Fill an empty database with a month of tickets over the rules' district, made through the services
    with a simulated clock (real history, deadlines, escalations). It refuses a database that has tickets."""
    from cases.seed import seed_month

    rules = open_rules()
    url = common.database_url(database)
    try:
        moment = as_utc(datetime.fromisoformat(end)) if end else utcnow()
    except ValueError:
        raise typer.BadParameter(f"{end!r} is not an ISO date-time such as 2026-03-06T08:30+08:00",
                                 param_hint="--end") from None
    engine = open_database(url, migrate=True)  # like ``db upgrade``: seeding makes the database it fills
    try:
        with session_scope(engine) as session:
            existing = int(session.exec(select(func.count()).select_from(Ticket)).one())
        if existing:
            typer.echo(texts.t("seed_not_empty", common.lang(), url=shown(url), count=existing), err=True)
            raise typer.Exit(1)
        report = seed_month(engine, rules, end=moment, days=days, per_day=per_day, seed=seed_value)
    finally:
        engine.dispose()
    lang = common.lang()
    states = ops_text("list_sep", lang).join(texts.t("seed_state", lang, status=status_label(status, lang), count=count)
                                             for status, count in sorted(report.by_status.items()))
    typer.echo(texts.t("seed_done", lang, url=shown(url), count=report.tickets, days=days, states=states,
                       people=report.people, sweeps=report.sweeps))


def register(app: typer.Typer) -> None:
    """Add ``gridbot seed``."""
    app.command("seed")(seed)
