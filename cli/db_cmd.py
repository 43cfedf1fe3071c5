"""``gridbot db upgrade``, and how every admin command opens the database and the rules."""

from __future__ import annotations

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
