"""/join: redeem a one-time invite code, with an attempt limit (a chat that tries too many wrong codes is
locked out for a while and supervisors are told, see :mod:`cases.services.join_guard`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.context import BotContext
from bot.render import role_label, target_label
from bot.replies import say, tell
from bot.texts import t
from cases import outbox
from cases.models import Person
from cases.services import join_guard
from cases.services.errors import InviteError
from cases.services.people import redeem_invite


def _minutes(span: timedelta) -> int:
    return max(1, -(-int(span.total_seconds()) // 60))


def cmd_join(session: Session, ctx: BotContext, person: Person, chat_id: int, args: list[str], *,
             now: datetime) -> None:
    """Redeem a one-time invite code."""
    lang = person.language
    if not args:
        say(session, chat_id, lang, "usage", now=now, usage="/join ABCD-EFGH-JK")
        return
    until = join_guard.locked_until(session, chat_id, now=now)
    if until is not None:
        say(session, chat_id, lang, "join_locked", now=now, minutes=_minutes(until - now))
        return
    try:
        assignment = redeem_invite(session, code=args[0], person=person, now=now)
    except InviteError as exc:
        failure = join_guard.record_failure(session, chat_id, now=now)
        if failure.locked_until is None:
            say(session, chat_id, lang, "join_failed", now=now, reason=t(f"join_{exc.code}", lang))
            return
        minutes = _minutes(failure.locked_until - now)
        say(session, chat_id, lang, "join_locked", now=now, minutes=minutes)
        who = " ".join(filter(None, [person.name, f"@{person.username}" if person.username else None,
                                     f"id {person.telegram_id}"]))
        for supervisor in join_guard.supervisors(session):
            tell(session, supervisor, "n_join_locked", now=now, urgency=outbox.ACTION, attempts=failure.failures,
                 who=who, minutes=minutes, dedupe_key=f"join_locked:{chat_id}:{failure.locked_until.isoformat()}"
                 f":{supervisor.id}")
        return
    join_guard.clear(session, chat_id)
    scope = assignment.scope
    scope_name = target_label(ctx.rules, scope, lang) if scope.startswith("team:") else ctx.rules.area_name(scope, lang)
    say(session, chat_id, lang, "joined", now=now, role=role_label(ctx.rules, assignment.role, scope, lang),
        scope=scope_name)
    say(session, chat_id, lang, "help_staff", now=now)


