"""``gridbot db upgrade`` and ``gridbot db prune``, and how every admin command opens the database and the rules."""

from __future__ import annotations

from datetime import timedelta

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from cases.db import make_engine, normalize_url, upgrade
from cases.rules.loader import RulesError, load_rules
from cases.rules.schema import Rules
from cases.settings import Settings

db_app = typer.Typer(help="Manage the database.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``db`` command group to ``app``."""
    app.add_typer(db_app, name="db")


def shown(url: str) -> str:
    """A database URL with its password hidden."""
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


def open_database(url: str | None = None) -> Engine:
    """An engine on ``url`` (default GRIDBOT_DATABASE_URL), migrated to the latest schema."""
    engine = make_engine(url or Settings().database_url)
    upgrade(engine)
    return engine


def open_rules(path: str | None = None) -> Rules:
    """The rules file (default GRIDBOT_RULES); on errors print them and exit 1."""
    target = path or Settings().rules
    try:
        return load_rules(target)
    except RulesError as exc:
        for issue in exc.issues:
            typer.echo(str(issue), err=True)
        typer.echo(f"the rules file {target} has errors; fix them (see `gridbot rules check`)", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"cannot read the rules file {target}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None


@db_app.command("upgrade")
def upgrade_cmd(
    url: str | None = typer.Option(None, "--url", help="database URL (default: GRIDBOT_DATABASE_URL)"),
) -> None:
    """Apply all database migrations (safe to run again; the bot also does this when it starts)."""
    target = url or Settings().database_url
    engine = open_database(target)
    engine.dispose()
    typer.echo(f"{shown(target)}: schema is up to date")


@db_app.command("prune")
def prune_cmd(
    keep_days: int | None = typer.Option(None, "--keep-days", min=1,
                                         help="keep this many days (default: GRIDBOT_KEEP_DAYS, 90)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="only count what would be deleted"),
) -> None:
    """Delete processed updates and delivered messages older than the retention period (the bot does
    this every hour; tickets and their history are kept)."""
    from cases.clock import utcnow
    from cases.retention import count_prunable, prune

    keep = timedelta(days=keep_days or Settings().keep_days)
    engine = open_database()
    try:
        counted = (count_prunable if dry_run else prune)(engine, now=utcnow(), keep=keep)
    finally:
        engine.dispose()
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} {counted.inbox} inbox updates and {counted.outbox} outbox messages "
               f"older than {keep.days} days")
