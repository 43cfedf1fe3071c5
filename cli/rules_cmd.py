"""``gridbot rules check [PATH]``: validate a rules file and summarise it, or list every error."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from cases.clock import utcnow
from cases.holiday_calendar import check_calendar_at, summary_line
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
) -> None:
    """Validate a rules file: print a short summary (exit 0) or every error as file:line:col (exit 1)."""
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
    typer.echo(f"{target}: OK")
    calendar = check_calendar_at(rules, utcnow())
    for line in [*summary(rules), summary_line(calendar)]:
        typer.echo(f"  {line}")
    for line in calendar.problems + calendar.warnings:
        typer.echo(f"warning: {line}")


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
