"""``gridbot routing``: evaluate the router on labelled examples, retrain the classifier with the district's
own corrections, export those corrections.

``evaluate`` reads the rules and the examples only; ``retrain`` and ``examples export`` also read the local
examples from the database.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from cases.db import read_scope
from cases.routing.evaluate import evaluate, format_evaluation
from cases.routing.examples import ExampleError, read_examples, split, write_examples
from cases.routing.model_store import bundled_examples, current_model, retrain
from cases.services.learning import local_examples
from cli.db_cmd import open_database, open_rules

routing_app = typer.Typer(help="The learned router: evaluate, retrain, export learned examples.",
                          no_args_is_help=True)
examples_app = typer.Typer(help="Labelled examples learned from staff and residents.", no_args_is_help=True)
routing_app.add_typer(examples_app, name="examples")


def register(app: typer.Typer) -> None:
    """Add the ``routing`` command group to ``app``."""
    app.add_typer(routing_app, name="routing")


@routing_app.command("evaluate")
def evaluate_cmd(
    file: Path | None = typer.Argument(None, help="a labelled .tsv file (default: the held-out split of the "
                                                  "bundled examples)"),
    keywords_only: bool = typer.Option(False, "--keywords-only", help="route by keywords alone (no classifier)"),
    rules_path: str | None = typer.Option(None, "--rules", help="rules file (default: GRIDBOT_RULES)"),
) -> None:
    """Accuracy, per-category precision/recall, emergency recall and the confusion matrix."""
    rules = open_rules(rules_path)
    try:
        if file is not None:
            if not file.is_file():
                typer.echo(f"no such file: {file}", err=True)
                raise typer.Exit(2)
            examples, title = read_examples(file, rules.categories), str(file)
        else:
            examples, title = split(bundled_examples(rules))[1], "held-out split of the bundled examples"
        model = None if keywords_only else current_model(rules)
    except ExampleError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if not examples:
        typer.echo("no labelled examples to evaluate on", err=True)
        raise typer.Exit(1)
    how = "keywords only" if model is None else f"classifier (threshold {model.threshold:.0%}) + keywords"
    typer.echo(format_evaluation(evaluate(rules, examples, model), f"{title} — {how}"))


@routing_app.command("retrain")
def retrain_cmd(rules_path: str | None = typer.Option(None, "--rules", help="rules file (default: GRIDBOT_RULES)"),
                ) -> None:
    """Train on the bundled plus the local examples; use the new model unless it scores worse on the held-out
    split (the reason is printed and logged)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rules = open_rules(rules_path)
    engine = open_database()
    try:
        with read_scope(engine) as session:
            local = local_examples(session, list(rules.categories))
    finally:
        engine.dispose()
    try:
        result = retrain(rules, local)
    except (ExampleError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    old, new = result.current, result.candidate
    typer.echo(f"local examples: {len(local)}; held-out accuracy {old.get('accuracy')} → {new.get('accuracy')}, "
               f"emergency recall {old.get('emergency_recall')} → {new.get('emergency_recall')}")
    typer.echo(("switched to the retrained model: " if result.switched else "kept the current model: ")
               + result.reason)


@examples_app.command("export")
def export_cmd(file: Path = typer.Argument(..., help="the .tsv file to write")) -> None:
    """Write the examples learned from staff and residents as a labelled TSV file."""
    engine = open_database()
    try:
        with read_scope(engine) as session:
            local = local_examples(session)
    finally:
        engine.dispose()
    try:
        count = write_examples(file, local, "Learned from staff recategorisations and residents' picks (gridbot).")
    except OSError as exc:
        typer.echo(f"cannot write {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{count} examples written to {file}")
