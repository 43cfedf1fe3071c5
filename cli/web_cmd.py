"""``gridbot web``, ``gridbot web-login`` and ``gridbot apikey create|list|revoke``: the console and the
Open311 API's keys."""

from __future__ import annotations

import typer

from cases.clock import utcnow
from cases.db import read_scope, session_scope
from cases.models import Person
from cases.services.api_keys import create_key, list_keys, revoke_key
from cases.services.errors import InvalidInput, PermissionDenied
from cases.services.web_access import issue_login
from cli.common import settings as load_settings
from cli.db_cmd import open_database, open_rules

apikey_app = typer.Typer(help="Open311 API keys (stored hashed, scoped to an area, rate-limited).",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``web``, ``web-login`` and ``apikey`` to ``app``."""
    app.command("web")(web)
    app.command("web-login")(web_login)
    app.add_typer(apikey_app, name="apikey")


def _secret() -> str:
    from web.config import NoSecret, web_secret

    try:
        return web_secret(load_settings())
    except NoSecret as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def web(
    listen: str = typer.Option("127.0.0.1", "--listen", metavar="HOST", help="address to listen on"),
    port: int = typer.Option(8080, "--port", metavar="N", help="port to listen on"),
) -> None:
    """Serve the supervisors' console and the Open311 API."""
    _secret()
    settings = load_settings()
    rules = open_rules()
    engine = open_database()
    from cases.figures import ensure
    from web.serving import server, web_config

    ensure(engine, rules)  # the day figures in the rules' time zone (once, if they are not)

    typer.echo(f"console on http://{listen}:{port}/console · Open311 on http://{listen}:{port}/open311/v2/")
    try:
        server(web_config(settings, engine, rules), listen, port).run()
    finally:
        engine.dispose()


def web_login(person: int = typer.Option(..., "--person", metavar="ID", help="the staff member's person id")) -> None:
    """Print a one-time console login link for a staff member (valid 10 minutes)."""
    secret = _secret()
    settings = load_settings()
    engine = open_database()
    try:
        with session_scope(engine) as session:
            who = session.get(Person, person)
            if who is None:
                typer.echo(f"there is no person {person}", err=True)
                raise typer.Exit(1)
            credential = issue_login(session, person=who, secret=secret, now=utcnow())
    except PermissionDenied as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    from web.config import login_url

    typer.echo(login_url(settings, credential))


@apikey_app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="who uses the key, e.g. 12345-hotline"),
    area: str | None = typer.Option(None, "--area", help="only places inside this area may be reported"),
    per_hour: int = typer.Option(60, "--per-hour", help="requests allowed per hour"),
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    rules = open_rules()
    engine = open_database()
    try:
        with session_scope(engine) as session:
            key, secret = create_key(session, rules=rules, name=name, area=area, per_hour=per_hour, now=utcnow())
            typer.echo(f"api key {key.name} (area {key.area or rules.root}, {key.per_hour}/hour):")
            typer.echo(secret)
    except InvalidInput as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


@apikey_app.command("list")
def list_cmd() -> None:
    """List the keys (never their secrets)."""
    engine = open_database()
    try:
        with read_scope(engine) as session:
            for key in list_keys(session):
                state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
                typer.echo(f"{key.name}\tarea={key.area or '-'}\t{key.per_hour}/hour\t{state}")
    finally:
        engine.dispose()


@apikey_app.command("revoke")
def revoke(name: str = typer.Option(..., "--name", help="the key's name")) -> None:
    """Revoke a key: its requests are refused from now on."""
    engine = open_database()
    try:
        with session_scope(engine) as session:
            revoke_key(session, name=name, now=utcnow())
        typer.echo(f"revoked {name}")
    except InvalidInput as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
