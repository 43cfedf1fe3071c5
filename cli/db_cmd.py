"""``gridbot db upgrade``, ``prune`` and ``backup``, and how every admin command opens the database and the rules."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta
from pathlib import Path

import typer
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from cases.db import alembic_config, make_engine, normalize_url, schema_revisions, upgrade
from cases.rules.loader import RulesError, load_rules
from cases.rules.schema import Rules
from cli import common, texts
from cli.common import shown

db_app = typer.Typer(help="Manage the database.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``db`` command group to ``app``."""
    app.add_typer(db_app, name="db")


def open_database(url: str | None = None, *, migrate: bool = False) -> Engine:
    """An engine on ``url`` (default: the settings' database), said on stderr. Only ``migrate=True``
    (``gridbot db upgrade``) creates or migrates; otherwise a database that is missing, not Gridbot's or
    behind the migrations is refused with one line, and nothing is created."""
    target = common.database_url(url)
    common.say_database(target)
    check_database_file(target, migrate=migrate)
    engine = make_engine(target)
    try:
        if migrate:
            upgrade(engine)
        else:
            _refuse_behind(engine, target)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _hint() -> str:
    return texts.t("upgrade_hint", common.lang())


def check_database_file(url: str, *, migrate: bool) -> None:
    """A SQLite file must exist (or, to be created by ``db upgrade``, its folder): SQLite would create it."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database or "").absolute()
    lang = common.lang()
    if migrate and not path.exists() and not path.parent.is_dir():
        common.fail(texts.t("db_cannot_create", lang, path=path, folder=path.parent)
                    + (texts.t("db_cannot_create_file", lang) if any(p.is_file() for p in path.parents) else ""))
    if not migrate and not path.is_file():
        common.fail(texts.t("db_missing", lang, path=path, url=shown(url), hint=_hint()))


def _refuse_behind(engine: Engine, url: str) -> None:
    current, heads = schema_revisions(engine)
    if current == heads:
        return
    lang = common.lang()
    if not current:
        common.fail(texts.t("db_no_schema", lang, url=shown(url), hint=_hint()))
    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current <= known:
        common.fail(texts.t("db_behind", lang, url=shown(url), current=", ".join(sorted(current)),
                            heads=", ".join(sorted(heads)), hint=_hint()))
    common.fail(texts.t("db_newer", lang, url=shown(url), current=", ".join(sorted(current))))


def open_rules(path: str | None = None) -> Rules:
    """The rules file (an explicit path, else by the search order of :mod:`cli.common`), said on stderr;
    one line and exit 2 if it is not there, its errors and exit 1 if it does not load."""
    target, origin = common.rules_path(path)
    if not Path(target).exists():
        common.fail(common.rules_not_found(target, origin))
    common.say_using("rules", target, origin)
    try:
        return load_rules(target)
    except RulesError as exc:
        for issue in exc.issues:
            typer.echo(str(issue), err=True)
        typer.echo(texts.t("rules_have_errors", common.lang(), path=target), err=True)
        raise typer.Exit(1) from None


@db_app.command("upgrade")
def upgrade_cmd(
    url: str | None = typer.Option(None, "--url", help="database URL (default: --database, GRIDBOT_DATABASE_URL)"),
) -> None:
    """Create or migrate the database to the latest schema (safe to run again; `gridbot run` does it too,
    and no other command does)."""
    target = common.database_url(url)
    engine = open_database(target, migrate=True)
    engine.dispose()
    typer.echo(texts.t("db_up_to_date", common.lang(), url=shown(target)))


@db_app.command("rebuild-figures")
def rebuild_figures_cmd(
    rules_path: str | None = typer.Option(None, "--rules", help="rules file (its time zone decides the days)"),
) -> None:
    """Recompute the day figures the console and the digest read (cases/figures.py) from the tickets, in the
    rules' time zone. Triggers keep them up to date; this is for after a change of time zone or a restore
    of the ticket table by hand (the bot and `gridbot web` do it by themselves when the zone changed)."""
    from cases.db import session_scope
    from cases.figures import rebuild

    rules = open_rules(rules_path)
    target = common.database_url()
    engine = open_database(target)
    try:
        with session_scope(engine) as session:
            rows = rebuild(session, rules.timezone)
    finally:
        engine.dispose()
    typer.echo(texts.t("db_figures_rebuilt", common.lang(), url=shown(target), zone=rules.timezone, rows=rows))


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

    keep = timedelta(days=keep_days or common.settings().keep_days)
    engine = open_database()
    try:
        counted = (count_prunable if dry_run else prune)(engine, now=utcnow(), keep=keep)
    finally:
        engine.dispose()
    typer.echo(texts.t("db_would_prune" if dry_run else "db_pruned", common.lang(), inbox=counted.inbox,
                       outbox=counted.outbox, days=keep.days))


@db_app.command("backup")
def backup_cmd(
    target: Path = typer.Argument(..., help="file to write the copy to"),
    force: bool = typer.Option(False, "--force", help="overwrite TARGET if it exists"),
) -> None:
    """Copy the SQLite database to TARGET, consistently, while the bot keeps running (SQLite's online
    backup; for PostgreSQL use pg_dump). The copy is checked before the command says so."""
    lang = common.lang()
    url = make_url(normalize_url(common.database_url()))
    common.say_database(str(url))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        typer.echo(texts.t("backup_not_sqlite", lang, url=shown(str(url))), err=True)
        raise typer.Exit(2)
    source = Path(url.database or "")
    if not source.exists():
        typer.echo(texts.t("backup_no_database", lang, path=source), err=True)
        raise typer.Exit(1)
    if target.exists() and not force:
        typer.echo(texts.t("backup_exists", lang, path=target), err=True)
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
        typer.echo(texts.t("backup_bad_copy", lang, verdict=verdict), err=True)
        raise typer.Exit(1)
    partial.replace(target)
    typer.echo(texts.t("backup_done", lang, source=source, target=target, size=f"{target.stat().st_size:,}",
                       tickets=tickets))
