"""``gridbot run``: the bot itself, by long polling or behind a webhook."""

from __future__ import annotations

import logging
import signal

import typer

from cases import redact
from cli import common
from cli.db_cmd import check_database_file, open_rules

log = logging.getLogger("gridbot.run")

TOKEN_HELP = """GRIDBOT_TOKEN is not set, so the bot cannot talk to Telegram.

Set it to your bot's token, e.g.:
  export GRIDBOT_TOKEN=<token from @BotFather>
Optionally, to use a local Bot API server (or an emulator) instead of api.telegram.org:
  export GRIDBOT_API_BASE_URL=http://127.0.0.1:8081/bot
(either can also go into a .env file). To try the bot without a token, run: gridbot demo"""


def register(app: typer.Typer) -> None:
    """Add ``gridbot run`` to ``app``."""
    app.command("run")(run)


class StopRequested(KeyboardInterrupt):
    """SIGTERM before the event loop takes the signals over (start-up: settings, rules, migrations)."""


def _stop_on_sigterm() -> None:
    def handler(_sig: int, _frame: object) -> None:
        raise StopRequested

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run(
    webhook: str | None = typer.Option(
        None, "--webhook", metavar="PUBLIC_URL", help="serve a webhook Telegram posts to at PUBLIC_URL"
    ),
    listen: str = typer.Option("0.0.0.0", "--listen", metavar="HOST", help="webhook listen address"),
    port: int = typer.Option(8443, "--port", metavar="N", help="webhook listen port"),
    web: int | None = typer.Option(None, "--web", metavar="PORT", help="also serve the console on 127.0.0.1:PORT"),
    sender_process: bool | None = typer.Option(
        None, "--sender-process/--no-sender-process",
        help="send the outbox from a child process (default: GRIDBOT_SENDER_PROCESS, on)"),
) -> None:
    """Run the bot: long polling by default, or a webhook with a secret token (--webhook). Migrates the
    database first. SIGTERM or Ctrl-C stop it in any phase (exit 0); a rejected token exits 2."""
    _stop_on_sigterm()
    try:
        _run(webhook, listen, port, web, sender_process)
    except KeyboardInterrupt:  # SIGINT or SIGTERM before the bot's own loop handles them
        log.info("stopped during start-up")


def _run(webhook: str | None, listen: str, port: int, web: int | None = None,
         sender_process: bool | None = None) -> None:
    settings = common.settings()
    if not settings.token:
        typer.echo(TOKEN_HELP, err=True)
        raise typer.Exit(common.EXIT_CONFIG)
    redact.install(settings.token)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    url = common.database_url()
    common.say_database(url)
    check_database_file(url, migrate=True)
    log.info("starting gridbot")
    rules = open_rules()
    from bot.app import build_app  # the handlers, imported only when the bot really runs
    from bot.runtime import TaskDied, TokenRejected

    in_child = settings.sender_process if sender_process is None else sender_process
    app = build_app(settings, rules=rules, runtime_options={"sender_process": in_child})  # migrates first
    try:
        if web is not None:
            from bot.runtime import run_until_stopped
            from web.serving import run_bot_with_web, server, web_config

            console = server(web_config(settings, app.engine, app.rules, ctx=app.ctx), "127.0.0.1", web,
                             embedded=True)
            if webhook:
                typer.echo("--web runs with long polling; use `gridbot web` beside a webhook bot", err=True)
                raise typer.Exit(2)
            run_until_stopped(run_bot_with_web(app.runtime, console))
        elif webhook:
            app.runtime.run_webhook(webhook, listen, port)
        else:
            app.runtime.run_polling()
    except TaskDied as exc:  # logged with its traceback; the lease is released: let another process take over
        typer.echo(f"gridbot stopped: a task died ({exc}); see the log above", err=True)
        raise typer.Exit(1) from None
    except TokenRejected:
        common.fail(f"the Bot API at {settings.api_base_url} rejected the token (GRIDBOT_TOKEN): check it with "
                    "@BotFather, or GRIDBOT_API_BASE_URL", common.EXIT_CONFIG)
    finally:
        _stop_on_sigterm()  # the event loop has given the signals back: a late one still means "stop"
        app.engine.dispose()
