"""``gridbot``: one command for admins and operators. Each sub-command lives in its own module; every one
takes ``--rules`` and ``--database`` and maps its errors to one line and an exit code (:mod:`cli.errors`)."""

from __future__ import annotations

import typer

from cli import (
    db_cmd,
    demo_cmd,
    digest_cmd,
    invite_cmd,
    route_cmd,
    routing_cmd,
    rules_cmd,
    run_cmd,
    seed_cmd,
    status_cmd,
    tickets_cmd,
    web_cmd,
)
from cli.errors import SHARED_HELP, GridbotGroup

app = typer.Typer(
    name="gridbot",
    cls=GridbotGroup,
    epilog=SHARED_HELP,
    help="Gridbot: community-grid case management over Telegram.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (rules_cmd, route_cmd, invite_cmd, tickets_cmd, db_cmd, run_cmd, demo_cmd, digest_cmd, status_cmd,
                seed_cmd, routing_cmd, web_cmd):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
