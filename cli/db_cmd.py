"""``gridbot db upgrade``, ``prune`` and ``backup``, and how every admin command opens the database and the rules."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta
from pathlib import Path

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


@db_app.command("backup")
def backup_cmd(
    target: Path = typer.Argument(..., help="file to write the copy to"),
    force: bool = typer.Option(False, "--force", help="overwrite TARGET if it exists"),
) -> None:
    """Copy the SQLite database to TARGET, consistently, while the bot keeps running (SQLite's online
    backup; for PostgreSQL use pg_dump). The copy is checked before the command says so."""
    url = make_url(normalize_url(Settings().database_url))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        typer.echo(f"{shown(str(url))} is not a SQLite file; back PostgreSQL up with pg_dump", err=True)
        raise typer.Exit(2)
    source = Path(url.database or "")
    if not source.exists():
        typer.echo(f"no database at {source}", err=True)
        raise typer.Exit(1)
    if target.exists() and not force:
        typer.echo(f"{target} exists; pass --force to overwrite it", err=True)
        raise typer.Exit(1)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(partial)) as dst:
        src.backup(dst)  # one step: a consistent snapshot; writers in WAL mode are not held up
        verdict = dst.execute("PRAGMA integrity_check").fetchone()[0]
        tickets = dst.execute("SELECT count(*) FROM ticket").fetchone()[0]
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        typer.echo(f"the copy failed its integrity check: {verdict}", err=True)
        raise typer.Exit(1)
    partial.replace(target)
    typer.echo(f"backed up {source} to {target} ({target.stat().st_size:,} bytes, {tickets} tickets)")
