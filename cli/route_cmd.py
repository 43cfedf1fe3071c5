"""``gridbot route TEXT``: show where a message would be routed, and why.

``gridbot route -`` reads one message per line from standard input and prints one JSON object per
line. A line that is a JSON object such as ``{"text": "...", "lat": 29.35, "lon": 113.1, "home": "x"}``
carries its own location; ``--lat/--lon/--home`` apply to every line that does not.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from bot.routing_texts import render_explanation
from cases.routing import Report, RoutingIndex, route
from cases.routing.examples import ExampleError
from cases.routing.model_store import current_model
from cli import common
from cli.db_cmd import open_rules


def register(app: typer.Typer) -> None:
    """Add the ``route`` command to ``app``."""
    app.command("route")(route_command)


def route_command(
    text: str = typer.Argument(..., help="the message to route, or '-' to read one message per line from stdin"),
    lat: float | None = typer.Option(None, "--lat", help="latitude of a shared location"),
    lon: float | None = typer.Option(None, "--lon", help="longitude of a shared location"),
    home: str | None = typer.Option(None, "--home", help="the resident's remembered home area (grid id)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object instead of text"),
    rules_path: str | None = typer.Option(None, "--rules", help="rules file (default: GRIDBOT_RULES)"),
    keywords_only: bool = typer.Option(False, "--keywords-only", help="route by keywords alone (no classifier)"),
) -> None:
    """Route a message with the rules and explain the decision (a dry run: nothing is stored)."""
    if (lat is None) != (lon is None):
        typer.echo("give both --lat and --lon, or neither", err=True)
        raise typer.Exit(2)
    lang = common.lang()  # the shared --lang option (then GRIDBOT_LANG, the locale)
    rules = open_rules(rules_path)
    index = RoutingIndex.for_rules(rules)
    try:
        model = None if keywords_only else current_model(rules)
    except ExampleError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if text == "-":
        for line in sys.stdin:
            report = _line_report(line, lat, lon, home)
            if report is not None:
                decision = route(report, rules, model, index)
                typer.echo(json.dumps(decision.to_dict(), ensure_ascii=False))
        return
    decision = route(Report(text, lat, lon, home), rules, model, index)
    if as_json:
        typer.echo(json.dumps(decision.to_dict(), ensure_ascii=False))
        return
    typer.echo(f"category: {decision.category}  priority: {decision.priority}  area: {decision.area or '-'}  "
               f"target: {decision.target or '- (location needed)'}")
    for line in render_explanation(decision.to_dict(), rules, lang):
        typer.echo(line)
    typer.echo("")
    typer.echo(decision.explain())


def _line_report(line: str, lat: float | None, lon: float | None, home: str | None) -> Report | None:
    """A report from one input line (plain text, or a JSON object with ``text``); None for a blank line."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    if line.lstrip().startswith("{"):
        try:
            data: Any = json.loads(line)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("text"), str):
            return Report(
                data["text"],
                _number(data.get("lat"), lat),
                _number(data.get("lon"), lon),
                str(data["home"]) if data.get("home") is not None else home,
            )
    return Report(line, lat, lon, home)


def _number(value: Any, default: float | None) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default
