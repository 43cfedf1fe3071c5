"""``gridbot demo``: the real bot, a local Bot API emulator, a short story, no token needed."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``gridbot demo``."""

    @app.command()
    def demo(
        verbose: bool = typer.Option(False, "--verbose", "-v", help="show the bot's logs"),
        keep: Path | None = typer.Option(None, "--keep", help="keep the database in this folder, add a month of "
                                         "seeded tickets, and print the admin commands to try on it"),
        console: int | None = typer.Option(None, "--console", metavar="PORT",
                                           help="afterwards keep serving the web console on this port (Ctrl-C stops)"),
    ) -> None:
        """Run the bot against a local Bot API emulator and print the chat transcript of a short story."""
        from cli.demo_story import run_demo

        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        raise typer.Exit(run_demo(sys.stdout, keep, console))
