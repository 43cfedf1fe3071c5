"""``gridbot rules check [PATH]``: validate a rules file and summarise it, or list every error."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from cases.clock import utcnow
from cases.holiday_calendar import check_calendar_at, summary_line
from cases.renames import rename_problems
from cases.rules.loader import RulesError, load_rules
from cases.rules.schema import Rules
from cli import common

rules_app = typer.Typer(help="Work with the rules file (routing_rules.yaml).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``rules`` command group to ``app``."""
    app.add_typer(rules_app, name="rules")


@rules_app.command("check")
def check(
    path: str | None = typer.Argument(None, help="rules file to check (default: --rules, GRIDBOT_RULES, "
                                                  "./routing_rules.yaml)"),
    db: bool = typer.Option(False, "--db", help="also check the ids the database uses (--database)"),
    db_url: str | None = typer.Option(None, "--db-url", help="also check the ids this database uses"),
) -> None:
    """Validate a rules file: print a short summary (exit 0) or every error as file:line:col (exit 1).

    With ``--db``/``--db-url``: list the area, team and category ids tickets, staff roles, groups or homes use
    that the rules drop (exit 1), and those a ``renamed_from`` will move."""
    target, origin = common.rules_path(path)
    if not Path(target).exists():
        common.fail(common.rules_not_found(target, origin))
    common.say_using("rules", target, origin)
    try:
        rules = load_rules(target)
    except RulesError as exc:
        for issue in exc.issues:
            typer.echo(str(issue))
        count = len(exc.issues)
        typer.echo(f"{count} error{'s' if count != 1 else ''} in {target}", err=True)
        raise typer.Exit(1) from None
    problems = rename_problems(rules)
    if db or db_url:
        problems += _database_problems(rules, db_url)
    if problems:
        for line in problems:
            typer.echo(f"{target}: {line}")
        typer.echo(f"{len(problems)} error{'s' if len(problems) != 1 else ''} in {target}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{target}: OK")
    calendar = check_calendar_at(rules, utcnow())
    for line in [*summary(rules), summary_line(calendar)]:
        typer.echo(f"  {line}")
    for line in calendar.problems + calendar.warnings:
        typer.echo(f"warning: {line}")


def _database_problems(rules: Rules, url: str | None) -> list[str]:
    """Ids the database uses that the rules drop (errors); renames still to apply are printed as notes."""
    from sqlalchemy.exc import SQLAlchemyError

    from cases.db import read_scope
    from cases.renames import orphans
    from cli.db_cmd import open_database

    engine = open_database(url)  # never creates or migrates: refuses a missing or outdated database
    try:
        with read_scope(engine) as session:
            found = orphans(session, rules)
    except SQLAlchemyError as exc:
        return [f"cannot read the database to check the ids it uses: {exc.__class__.__name__}"]
    finally:
        engine.dispose()
    for orphan in found:
        if orphan.renamed_to:
            typer.echo(f"note: {orphan.describe()} (gridbot rules apply-renames, or at the bot's start)")
    return [orphan.describe() for orphan in found if not orphan.renamed_to]


@rules_app.command("apply-renames")
def apply_renames_cmd(
    path: str | None = typer.Argument(None, help="rules file (default: GRIDBOT_RULES)"),
) -> None:
    """Rewrite the ids the database stores that the rules renamed (``renamed_from``); the bot does this
    too when it starts. Each moved ticket records an ``ids_renamed`` event."""
    from cases.db import session_scope
    from cases.renames import apply_renames
    from cli.db_cmd import open_database, open_rules

    rules = open_rules(path)
    problems = rename_problems(rules)
    if problems:
        for line in problems:
            typer.echo(line, err=True)
        raise typer.Exit(1)
    engine = open_database()
    try:
        with session_scope(engine) as session:
            report = apply_renames(session, rules, now=utcnow())
    finally:
        engine.dispose()
    typer.echo(report.describe())


def summary(rules: Rules) -> list[str]:
    """A few lines describing what a valid rules file contains."""
    kinds = Counter(area.kind for area in rules.areas.values())
    grids = [rules.areas[g] for g in rules.grids]
    places = sum(len(g.places) for g in grids)
    bounded = sum(1 for g in grids if g.boundary)
    keywords = sum(len(c.keywords) for c in rules.categories.values())
    digest_to = ", ".join(rules.digest.to) or "nobody"
    return [
        f"areas: {kinds['district']} district, {kinds['street']} streets, {kinds['community']} communities, "
        f"{kinds['grid']} grids ({bounded} with a boundary, {places} place names)",
        f"categories: {len(rules.categories)} ({keywords} keywords)",
        f"teams: {len(rules.teams)}",
        f"routes: {len(rules.routes)}",
        f"time zone: {rules.timezone}",
        f"digest: daily at {rules.digest.at:%H:%M} to {digest_to}",
    ]
