"""Announce a ticket to the people who should act on it: its grid's or team's workers, bound groups,
and, when nobody is registered there, the leaders above."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from bot.context import BotContext
from bot.keyboards import details_keyboard, dispatch_keyboard
from bot.render import (
    age_text,
    area_label,
    local_time,
    place_name,
    place_text,
    priority_label,
    shorten,
    target_label,
)
from bot.replies import dispatch_rows, say, tell
from bot.sending import queue_edit, queue_message, queue_venue
from bot.texts import t
from cases import outbox
from cases.clock import as_utc
from cases.db import core_connection
from cases.models import GroupBinding, OutboxMessage, Person, Role, Ticket
from cases.services import flood
from cases.services.events import latest_event_id
from cases.services.people import people_over, staff_for_target
from cases.services.tickets import Earlier, possible_duplicate

_GROUP = GroupBinding.__table__  # type: ignore[attr-defined]
_GROUPS_OF_AREA = select(_GROUP.c.chat_id).where(_GROUP.c.area == bindparam("area"))


@dataclass(frozen=True)
class Again:
    """Why a ticket is announced again: the catalogue key of the card's headline (``w_headline_reopened``,
    ``w_headline_released``, ``w_headline_transferred``) and its values (names, a reason a person wrote)."""

    key: str
    values: dict[str, str] = field(default_factory=dict)


def dispatch(session: Session, ctx: BotContext, ticket: Ticket, *, now: datetime, again: Again | None = None,
             cause: int | None = None) -> int:
    """Send ``ticket`` to everyone who may claim it, with its place as a venue pin when it has a point; returns
    how many chats were told. ``again``: the ticket was announced before (reopened, handed back, transferred):
    its card says so and why, instead of "new ticket".

    The cards are keyed by the event that put the ticket up for claiming (opened, located, handed back,
    reopened, transferred...), so every lap announces it again with a live Claim button. ``cause``: that
    event's id when the caller has just recorded it as the ticket's newest (a new report's "opened"), else it
    is read.
    """
    assert ticket.id is not None
    if cause is None:
        cause = latest_event_id(session, ticket.id)
    urgency = ticket_priority(ticket)
    recipients = handlers_of(session, ctx, ticket.target)
    duplicate = possible_duplicate(session, ticket)
    told = 0
    for person in recipients:
        tell(session, person, "w_new_ticket", now=now, purpose="dispatch", ticket_id=ticket.id,
             markup=dispatch_keyboard(ctx.codec, ticket.id, person.language),
             dedupe_key=f"dispatch:{ticket.id}:{person.id}:e{cause}", urgency=urgency,
             **card_values(ctx, ticket, person.language, duplicate=duplicate, again=again))
        _send_venue(session, ctx, ticket, person.telegram_id, person.language, now=now, urgency=urgency,
                    key=f"venue:{ticket.id}:{person.id}:e{cause}")
        told += 1
    if ticket.area:
        groups = core_connection(session).execute(_GROUPS_OF_AREA, {"area": ticket.area}).scalars().all()
        for group_chat in groups:
            say(session, group_chat, "zh", "w_new_ticket", now=now, purpose="dispatch", ticket_id=ticket.id,
                markup=dispatch_keyboard(ctx.codec, ticket.id, "zh"),
                dedupe_key=f"dispatch:{ticket.id}:g{group_chat}:e{cause}", urgency=urgency,
                **card_values(ctx, ticket, "zh", duplicate=duplicate, again=again))
            _send_venue(session, ctx, ticket, group_chat, "zh", now=now, urgency=urgency,
                        key=f"venue:{ticket.id}:g{group_chat}:e{cause}")
            told += 1
    if not recipients:
        for leader in leaders_for(session, ctx, ticket):
            tell(session, leader, "no_worker", now=now, ticket_id=ticket.id, purpose="dispatch",  # edited on claim
                 dedupe_key=f"no_worker:{ticket.id}:{leader.id}:e{cause}", urgency=urgency,
                 markup=dispatch_keyboard(ctx.codec, ticket.id, leader.language),
                 number=ticket.number, target=target_label(ctx.rules, ticket.target, leader.language))
            told += 1
    return told


def edit_announcements(session: Session, ctx: BotContext, ticket: Ticket, text: Callable[[str], str], *,
                       now: datetime) -> None:
    """Edit every announcement of the ticket to ``text(language)``, keeping only a Details button (so no
    Claim button stays live once it is claimed, cancelled or merged)."""
    assert ticket.id is not None
    for row in dispatch_rows(session, ticket):
        recipient = session.exec(select(Person).where(Person.telegram_id == row.chat_id)).first()
        lang = recipient.language if recipient else "zh"
        queue_edit(session, chat_id=row.chat_id, of_outbox_id=row.id, text=text(lang), priority=outbox.ACTION,
                   reply_markup=details_keyboard(ctx.codec, ticket.id, lang), now=now)


def ticket_priority(ticket: Ticket) -> int:
    """The outbox priority of what asks someone to act on ``ticket``: an emergency's cards, reminders and
    escalations go before everything else; any other ticket's come before routine replies."""
    return outbox.EMERGENCY if ticket.priority == "emergency" else outbox.ACTION


def handlers_of(session: Session, ctx: BotContext, target: str) -> list[Person]:
    """Who may claim tickets routed to ``target``: a grid's workers, a team, or an area queue's managers."""
    kind, _, ref = target.partition(":")
    if kind == "area":
        return people_over(session, ctx.rules, ref if ref in ctx.rules.areas else ctx.rules.root,
                           [Role.LEADER, Role.SUPERVISOR])
    return staff_for_target(session, ctx.rules, target)


def leaders_for(session: Session, ctx: BotContext, ticket: Ticket) -> list[Person]:
    """Leaders (or, failing them, supervisors) responsible for the ticket's area."""
    area = ctx.rules.responsible_area(ticket.area, ticket.target)
    leaders = people_over(session, ctx.rules, area, [Role.LEADER])
    return leaders or people_over(session, ctx.rules, area, [Role.SUPERVISOR])


HOLD_NUMBERS = 30
"""How many held tickets a hold's message lists by number."""


def hold_for_review(session: Session, ctx: BotContext, ticket: Ticket, reporter: Person, *,
                    now: datetime) -> None:
    """A flooding resident's ticket waits for review: each leader hears of the hold once, in one message
    that is edited to the current count (edits notify nobody; a newer edit supersedes one not yet sent)."""
    assert ticket.id is not None and reporter.id is not None
    hold = flood.note_held(session, reporter_id=reporter.id, ticket_id=ticket.id, now=now)
    waiting = flood.still_held(session, reporter_id=reporter.id, anchor_ticket_id=hold.anchor_ticket_id,
                               limit=HOLD_NUMBERS + 1)
    numbers = " ".join(f"#{n}" for n in waiting[:HOLD_NUMBERS]) + (" …" if len(waiting) > HOLD_NUMBERS else "")
    values = {"reporter": reporter.name or str(reporter.telegram_id), "count": hold.count,
              "numbers": numbers or ticket.number, "number": ticket.number, "summary": shorten(ticket.text or "-", 200)}
    for leader in leaders_for(session, ctx, ticket):
        key = f"hold:{reporter.id}:{hold.anchor_ticket_id}:{leader.id}"
        text = t("held_for_review_many", leader.language, **values)
        first = session.exec(select(OutboxMessage).where(col(OutboxMessage.dedupe_key) == key)).first()
        if first is None:
            queue_message(session, chat_id=leader.telegram_id, text=text, purpose="hold",
                          ticket_id=hold.anchor_ticket_id, dedupe_key=key, priority=outbox.ACTION, now=now)
            continue
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.chat_id) == leader.telegram_id, col(OutboxMessage.purpose) == "hold_edit",
                   col(OutboxMessage.ticket_id) == hold.anchor_ticket_id, col(OutboxMessage.sent_at).is_(None),
                   col(OutboxMessage.failed_at).is_(None))
            .values(failed_at=now, error="superseded by a newer count")
        )
        queue_edit(session, chat_id=leader.telegram_id, of_outbox_id=first.id, text=shorten(text, 4000),
                   purpose="hold_edit", ticket_id=hold.anchor_ticket_id, priority=outbox.ACTION, now=now)


def card_values(ctx: BotContext, ticket: Ticket, lang: str, *, duplicate: Earlier | None = None,
                again: Again | None = None) -> dict[str, Any]:
    """The fields of the new-ticket card; ``duplicate``: an earlier report that may be the same problem;
    ``again``: why a ticket announced before is announced again."""
    rules = ctx.rules
    hint = "" if duplicate is None else "\n" + t("w_possible_duplicate", lang, number=duplicate.number,
                                                    age=age_text(duplicate.created_at, as_utc(ticket.created_at), lang))
    priority = priority_label(ticket.priority, lang)
    headline = (t("w_headline_new", lang, number=ticket.number, priority=priority) if again is None else
                t(again.key, lang, number=ticket.number, priority=priority, count=ticket.reopen_count,
                  **again.values))
    return {
        "headline": headline,
        "duplicate": hint,
        "category": rules.category_name(ticket.category, lang),
        "area": area_label(rules, ticket.area, lang) if ticket.area else target_label(rules, ticket.target, lang),
        "place": place_text(ticket, lang),
        "summary": shorten(ticket.text or "-", 300),
        "claim_by": local_time(rules, ticket.claim_by),
        "resolve_by": local_time(rules, ticket.resolve_by),
    }


def _send_venue(session: Session, ctx: BotContext, ticket: Ticket, chat_id: int, lang: str, *, now: datetime,
                key: str, urgency: int) -> None:
    """After the card, the ticket's point as a Telegram venue (title: the place or grid; address: the areas
    above it), so the worker can open it in a map and navigate. Nothing when the ticket has no point."""
    if ticket.lat is None or ticket.lon is None:
        return
    rules = ctx.rules
    grid = area_label(rules, ticket.area, lang) if ticket.area else target_label(rules, ticket.target, lang)
    title = place_name(ticket) or grid
    above = [rules.area_name(a, lang) for a in reversed(rules.ancestors(ticket.area)[1:])] if ticket.area else []
    address = t("venue_address_sep", lang).join([*above, grid] if title != grid else above) or grid
    queue_venue(session, chat_id=chat_id, lat=ticket.lat, lon=ticket.lon, title=title, address=address,
                purpose="dispatch_venue", ticket_id=ticket.id, dedupe_key=key, priority=urgency, now=now)
