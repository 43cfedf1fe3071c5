"""/priority NUMBER LEVEL: staff change a ticket's priority — mostly to lower a report that routing treated as
an emergency because it was unsure (recall before precision). The service records the change as an event and
a lowered emergency as a labelled example (:mod:`cases.services.triage`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.context import BotContext
from bot.render import priority_label
from bot.replies import say
from bot.resident import parse_number
from bot.staff import _acted
from cases.models import Person
from cases.services.triage import set_priority

LEVELS = {"low": "low", "normal": "normal", "urgent": "urgent", "emergency": "emergency",
          "低": "low", "普通": "normal", "紧急": "urgent", "特急": "emergency"}
"""What staff may type for each priority, in either language."""


def cmd_priority(session: Session, ctx: BotContext, person: Person, chat_id: int, args: list[str], *,
                 now: datetime) -> None:
    """/priority NUMBER low|normal|urgent|emergency (or 低|普通|紧急|特急)."""
    lang = person.language
    number = parse_number(args[0] if args else None)
    level = LEVELS.get(args[1].strip().lower()) if len(args) > 1 else None
    if number is None or level is None:
        say(session, chat_id, lang, "usage", now=now, usage="/priority 12 普通")
        return
    ticket = _acted(session, ctx, person, chat_id, number, lambda: set_priority(
        session, ticket_id=number, actor=person, rules=ctx.rules, priority=level, now=now), now=now)
    if ticket is not None:
        say(session, chat_id, lang, "priority_set_ok", now=now, number=ticket.number,
            priority=priority_label(level, lang))
