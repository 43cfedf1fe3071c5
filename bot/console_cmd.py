"""/console: a one-time login link to the web console, in a private chat only (a link in a group could be
used by anyone there). Staff only; the link is valid once, for ten minutes (:mod:`cases.services.web_access`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.context import BotContext
from bot.replies import say
from cases.models import Person
from cases.services.errors import PermissionDenied
from cases.services.web_access import issue_login


def cmd_console(session: Session, ctx: BotContext, person: Person, chat_id: int, *, now: datetime) -> None:
    """Answer with a login link (or say why not)."""
    lang = person.language
    if chat_id != person.telegram_id:
        say(session, chat_id, lang, "console_private_only", now=now)
        return
    if not ctx.console_url or not ctx.console_secret:
        say(session, chat_id, lang, "console_no_secret", now=now)
        return
    try:
        credential = issue_login(session, person=person, secret=ctx.console_secret, now=now)
    except PermissionDenied:
        say(session, chat_id, lang, "console_not_staff", now=now)
        return
    say(session, chat_id, lang, "console_link", now=now, purpose="console_link",
        url=f"{ctx.console_url.rstrip('/')}/login/{credential}")
