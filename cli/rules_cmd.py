"""``gridbot rules check [PATH]``: validate a rules file and summarise it, or list every error."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from cases.clock import utcnow
from cases.holiday_calendar import check_calendar_at, summary_line
from cases.ops_texts import OPS_TEXTS, ops_text
from cases.renames import rename_problems
from cases.rules.loader import RulesError, load_rules
from cases.rules.schema import Rules
from cli import common, texts

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
    lang = common.lang()
    target, origin = common.rules_path(path)
    if not Path(target).exists():
        common.fail(common.rules_not_found(target, origin))
    common.say_using("rules", target, origin)
    try:
        rules = load_rules(target)
    except RulesError as exc:
        for issue in exc.issues:  # file:line:col: what is wrong (English for now)
            typer.echo(str(issue))
        _count_errors(len(exc.issues), target, lang)
        raise typer.Exit(1) from None
    problems = rename_problems(rules)
    if db or db_url:
        problems += _database_problems(rules, db_url, lang)
    if problems:
        for line in problems:
            typer.echo(f"{target}: {line}")
        _count_errors(len(problems), target, lang)
        raise typer.Exit(1)
    typer.echo(texts.t("rules_ok", lang, path=target))
    calendar = check_calendar_at(rules, utcnow(), lang=lang)
    for line in [*summary(rules, lang), summary_line(calendar, lang)]:
        typer.echo(f"  {line}")
    for line in calendar.problems + calendar.warnings:
        typer.echo(texts.t("rules_warning", lang, text=line))


def _count_errors(count: int, target: str, lang: str) -> None:
    typer.echo(texts.t("errors_in", lang, count=count, errors=texts.plural_errors(count, lang), path=target), err=True)


def _database_problems(rules: Rules, url: str | None, lang: str) -> list[str]:
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
        return [texts.t("rules_db_unreadable", lang, kind=exc.__class__.__name__)]
    finally:
        engine.dispose()
    for orphan in found:
        if orphan.renamed_to:
            typer.echo(texts.t("rules_rename_note", lang, text=orphan.describe()))
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


def summary(rules: Rules, lang: str = "en") -> list[str]:
    """A few lines in ``lang`` describing what a valid rules file contains."""
    kinds = Counter(area.kind for area in rules.areas.values())
    grids = [rules.areas[g] for g in rules.grids]
    places = sum(len(g.places) for g in grids)
    bounded = sum(1 for g in grids if g.boundary)
    keywords = sum(len(c.keywords) for c in rules.categories.values())
    digest_to = ops_text("list_sep", lang).join(ops_text(f"notify_{to}", lang) if f"notify_{to}" in OPS_TEXTS else to
                                                for to in rules.digest.to) or texts.t("summary_nobody", lang)
    return [
        texts.t("summary_areas", lang, district=kinds["district"], street=kinds["street"],
                community=kinds["community"], grid=kinds["grid"], bounded=bounded, places=places),
        texts.t("summary_categories", lang, count=len(rules.categories), keywords=keywords),
        texts.t("summary_teams", lang, count=len(rules.teams)),
        texts.t("summary_routes", lang, count=len(rules.routes)),
        texts.t("summary_zone", lang, zone=rules.timezone),
        texts.t("summary_digest", lang, at=f"{rules.digest.at:%H:%M}", to=digest_to),
    ]
