"""``gridbot run``: the bot itself, by long polling or behind a webhook."""

from __future__ import annotations

import logging

import typer

from cli.common import settings as load_settings

TOKEN_HELP = """GRIDBOT_TOKEN is not set, so the bot cannot talk to Telegram.

Set it to your bot's token, e.g.:
  export GRIDBOT_TOKEN=<token from @BotFather>
Optionally, to use a local Bot API server (or an emulator) instead of api.telegram.org:
  export GRIDBOT_API_BASE_URL=http://127.0.0.1:8081/bot
(either can also go into a .env file). To try the bot without a token, run: gridbot demo"""


def register(app: typer.Typer) -> None:
    """Add ``gridbot run`` to ``app``."""
    app.command("run")(run)


def run(
    webhook: str | None = typer.Option(
        None, "--webhook", metavar="PUBLIC_URL", help="serve a webhook Telegram posts to at PUBLIC_URL"
    ),
    listen: str = typer.Option("0.0.0.0", "--listen", metavar="HOST", help="webhook listen address"),
    port: int = typer.Option(8443, "--port", metavar="N", help="webhook listen port"),
    web: int | None = typer.Option(None, "--web", metavar="PORT", help="also serve the console on 127.0.0.1:PORT"),
) -> None:
    """Run the bot: long polling by default, or a webhook with a secret token (--webhook)."""
    settings = load_settings()
    if not settings.token:
        typer.echo(TOKEN_HELP, err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from cases.rules.loader import RulesError, load_rules

    try:
        rules = load_rules(settings.rules)
    except RulesError as exc:
        for issue in exc.issues:
            typer.echo(str(issue), err=True)
        raise typer.Exit(1) from None
    from bot.app import build_app  # the handlers, imported only when the bot really runs

    app = build_app(settings, rules=rules)  # applies the migrations first
    try:
        if web is not None:
            import asyncio

            from web.serving import run_bot_with_web, server, web_config

            console = server(web_config(settings, app.engine, app.rules, ctx=app.ctx), "127.0.0.1", web,
                             embedded=True)
            if webhook:
                typer.echo("--web runs with long polling; use `gridbot web` beside a webhook bot", err=True)
                raise typer.Exit(2)
            asyncio.run(run_bot_with_web(app.runtime, console))
        elif webhook:
            app.runtime.run_webhook(webhook, listen, port)
        else:
            app.runtime.run_polling()
    finally:
        app.engine.dispose()
