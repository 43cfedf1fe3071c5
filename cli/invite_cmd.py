"""``gridbot invite``: a one-time code that gives a Telegram user a staff role over an area or team."""

from __future__ import annotations

import typer

from bot.render import role_label
from cases.clock import utcnow
from cases.db import session_scope
from cases.durations import DurationError, parse_duration
from cases.models import Role
from cases.services.errors import InvalidInput
from cases.services.people import create_invite
from cli import common, texts
from cli.db_cmd import open_database, open_rules


def register(app: typer.Typer) -> None:
    """Add the ``invite`` command to ``app``."""
    app.command("invite")(invite)


def invite(
    role: Role = typer.Option(..., "--role", help="worker, leader, supervisor or inspector"),
    area: str = typer.Option(..., "--area", help="area id from the rules file, or team:<id>"),
    expires: str = typer.Option("7d", "--expires", help="how long the code stays valid: 30m, 12h, 7d..."),
) -> None:
    """Print a one-time invite code; the person redeems it by sending /join CODE to the bot."""
    lang = common.lang()
    try:
        expires_in = parse_duration(expires)
    except DurationError:
        reason = texts.t("invite_bad_expires_reason", lang, text=repr(expires))
        typer.echo(texts.t("invite_bad_expires", lang, reason=reason), err=True)
        raise typer.Exit(2) from None
    rules = open_rules()
    engine = open_database()
    now = utcnow()
    try:
        with session_scope(engine) as session:
            code = create_invite(session, role=role.value, scope=area, expires_in=expires_in, now=now, rules=rules)
    except InvalidInput as exc:
        typer.echo(texts.t("invite_refused", lang, reason=exc), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    until = (now + expires_in).astimezone(rules.zone)
    where = rules.target_name(area, lang) if area.startswith("team:") else rules.area_name(area, lang)
    typer.echo(code)
    typer.echo(texts.t("invite_made", lang, role=role_label(rules, role.value, area, lang), where=where, area=area,
                       until=f"{until:%Y-%m-%d %H:%M %Z}"))
    typer.echo(texts.t("invite_how", lang, code=code))
