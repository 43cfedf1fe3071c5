"""Turns the domain's notices (deadlines, escalations, digests) into outbox messages in each
recipient's language. Implements :class:`cases.notify.Notifier`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from bot import keyboards as kb
from bot.context import BotContext
from bot.digest_sending import DigestCharts, send_digest
from bot.dispatching import ticket_priority
from bot.render import age_text, area_label, event_line, local_time, person_label, shorten, status_label
from bot.replies import tell
from cases.digest import Digest
from cases.durations import format_duration
from cases.models import Person, Ticket, TicketEvent
from cases.notify import Notice

log = logging.getLogger(__name__)

HISTORY_LINES = 5


def notice_key(notice: Notice, ticket_id: int, person_id: int | None) -> str:
    """The outbox dedupe key of a ticket notice to one person: the event that caused it when the domain
    names it (``data["event_id"]``), so the same event is one message and a ticket's second lap (hand-back,
    reopen) a second one; otherwise the notice's level or count."""
    data = notice.data
    cause = f"e{data['event_id']}" if data.get("event_id") is not None else data.get("level", data.get("count", ""))
    return f"{notice.kind}:{ticket_id}:{person_id}:{cause}"


class TelegramNotifier:
    """Renders notices with the message catalogue and queues them, inside the caller's transaction."""

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self.charts = DigestCharts(ctx.rules)

    def prepare_digests(self, digests: Iterable[Digest]) -> None:
        """Render the digests' charts ahead, outside any transaction (see :func:`cases.digest.send_due_digests`)."""
        self.charts.prepare(digests)

    def notify(self, session: Session, recipients: Sequence[Person], notice: Notice, *, now: datetime) -> None:
        """Queue ``notice`` for every recipient (once per recipient, notice and level)."""
        ticket = session.get(Ticket, notice.ticket_id) if notice.ticket_id is not None else None
        if ticket is not None and notice.kind == "unlocated_report":
            self._tell_reporter_unlocated(session, ticket, now=now)
        seen: set[int] = set()
        for person in recipients:
            if person.id is None or person.id in seen:
                continue
            seen.add(person.id)
            if notice.kind == "digest":
                self._digest(session, person, notice, now=now)
            elif ticket is not None:
                self._ticket_notice(session, person, ticket, notice, now=now)
            else:
                log.warning("notice %s without a ticket for person %s", notice.kind, person.id)

    def _ticket_notice(self, session: Session, person: Person, ticket: Ticket, notice: Notice, *,
                       now: datetime) -> None:
        rules = self.ctx.rules
        lang = person.language
        codec = self.ctx.codec
        assert ticket.id is not None
        data = notice.data
        key = notice_key(notice, ticket.id, person.id)
        summary = shorten(ticket.text or "-", 200)
        urgency = ticket_priority(ticket)
        if notice.kind == "claim_reminder":
            tell(session, person, "n_claim_reminder", now=now, ticket_id=ticket.id, dedupe_key=key, urgency=urgency,
                 markup=kb.dispatch_keyboard(codec, ticket.id, lang), number=ticket.number,
                 claim_by=local_time(rules, ticket.claim_by), summary=summary)
        elif notice.kind == "deadline_warning":
            tell(session, person, "n_deadline_warning", now=now, ticket_id=ticket.id, dedupe_key=key, urgency=urgency,
                 markup=kb.holder_keyboard(codec, ticket.id, lang), number=ticket.number,
                 resolve_by=local_time(rules, ticket.resolve_by))
        elif notice.kind == "escalated":
            holder = session.get(Person, ticket.claimed_by) if ticket.claimed_by else None
            tell(session, person, "n_escalated", now=now, ticket_id=ticket.id, dedupe_key=key, urgency=urgency,
                 markup=kb.escalation_keyboard(codec, ticket.id, lang), number=ticket.number,
                 level=data.get("level", ticket.escalation_level),
                 category=rules.category_name(ticket.category, lang), area=area_label(rules, ticket.area, lang),
                 age=age_text(ticket.created_at, now, lang),
                 overdue=format_duration(timedelta(seconds=float(data.get("overdue_seconds", 0))), lang),
                 status=status_label(ticket.status, lang), holder=person_label(holder, lang),
                 history=self._history(session, ticket, lang))
        elif notice.kind == "auto_closed":
            tell(session, person, "r_closed_auto", now=now, ticket_id=ticket.id, dedupe_key=key,
                 number=ticket.number)
        elif notice.kind in ("unlocated_report", "unlocated"):
            tell(session, person, "n_unlocated", now=now, ticket_id=ticket.id, dedupe_key=key, urgency=urgency,
                 markup=kb.dispatch_keyboard(codec, ticket.id, lang), number=ticket.number, summary=summary)
        else:
            log.warning("unknown notice kind %s", notice.kind)

    def _tell_reporter_unlocated(self, session: Session, ticket: Ticket, *, now: datetime) -> None:
        """The resident hears that their unplaced report went to the district's general queue."""
        reporter = session.get(Person, ticket.reporter_id)
        if reporter is not None:
            tell(session, reporter, "r_located_default", now=now, ticket_id=ticket.id,
                 dedupe_key=f"unlocated:{ticket.id}", number=ticket.number)

    def _history(self, session: Session, ticket: Ticket, lang: str) -> str:
        from cases.services.tickets import history

        assert ticket.id is not None
        events: list[TicketEvent] = history(session, ticket.id)[-HISTORY_LINES:]
        return "\n".join("· " + event_line(self.ctx.rules, e, lang, note_chars=60) for e in events)

    def _digest(self, session: Session, person: Person, notice: Notice, *, now: datetime) -> None:
        send_digest(session, self.ctx, person, notice, now=now, charts=self.charts)
