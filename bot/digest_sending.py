"""Deliver a supervisor's daily digest: the text (split cleanly) and, when something is overdue, a chart."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.context import BotContext
from bot.sending import queue_message, queue_photo
from cases.digest import Digest
from cases.digest_chart import render_digest_chart
from cases.digest_render import render_digest_text
from cases.models import Person
from cases.notify import Notice


def send_digest(session: Session, ctx: BotContext, person: Person, notice: Notice, *, now: datetime) -> None:
    """Queue the digest in the person's language; the chart goes along when there is something to show."""
    digest = Digest.from_dict(notice.data["digest"])
    key = f"digest:{person.id}:{notice.data.get('sent_for', digest.day.isoformat())}"
    chunks = render_digest_text(digest, ctx.rules, person.language)
    for index, chunk in enumerate(chunks):
        queue_message(session, chat_id=person.telegram_id, text=chunk, purpose="digest",
                      dedupe_key=f"{key}:{index}", now=now)
    if not digest.all_clear:
        caption = ctx.rules.area_name(digest.area, person.language) + f" · {digest.day.isoformat()}"
        queue_photo(session, chat_id=person.telegram_id, photo=render_digest_chart(digest), caption=caption,
                    purpose="digest", dedupe_key=f"{key}:chart", now=now)
