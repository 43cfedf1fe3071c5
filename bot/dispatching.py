"""Announce a ticket to the people who should act on it: its grid's or team's workers, bound groups,
and, when nobody is registered there, the leaders above."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from bot.context import BotContext
from bot.keyboards import dispatch_keyboard, held_keyboard
from bot.render import age_text, area_label, local_time, priority_label, shorten, target_label
from bot.replies import say, tell
from bot.texts import t
from cases.clock import as_utc
from cases.models import GroupBinding, Person, Role, Ticket
from cases.services.people import people_over, staff_for_target
from cases.services.tickets import Earlier, possible_duplicate

_GROUPS_OF_AREA = select(GroupBinding).where(col(GroupBinding.area) == bindparam("area"))


def _place(ticket: Ticket) -> str:
    if ticket.lat is not None and ticket.lon is not None:
        return f"{ticket.lat:.5f}, {ticket.lon:.5f}"
    return "-"


def dispatch(session: Session, ctx: BotContext, ticket: Ticket, *, now: datetime) -> int:
    """Send ``ticket`` to everyone who may claim it; returns how many chats were told."""
    assert ticket.id is not None
    recipients = handlers_of(session, ctx, ticket.target)
    duplicate = possible_duplicate(session, ticket)
    told = 0
    for person in recipients:
        tell(session, person, "w_new_ticket", now=now, purpose="dispatch", ticket_id=ticket.id,
             markup=dispatch_keyboard(ctx.codec, ticket.id, person.language),
             dedupe_key=f"dispatch:{ticket.id}:{person.id}:{ticket.claim_reminders}:{ticket.reopen_count}",
             **card_values(ctx, ticket, person.language, duplicate=duplicate))
        told += 1
    if ticket.area:
        groups = session.exec(_GROUPS_OF_AREA, params={"area": ticket.area}).all()
        for group in groups:
            say(session, group.chat_id, "zh", "w_new_ticket", now=now, purpose="dispatch", ticket_id=ticket.id,
                markup=dispatch_keyboard(ctx.codec, ticket.id, "zh"),
                dedupe_key=f"dispatch:{ticket.id}:g{group.chat_id}:{ticket.claim_reminders}:{ticket.reopen_count}",
                **card_values(ctx, ticket, "zh", duplicate=duplicate))
            told += 1
    if not recipients:
        for leader in leaders_for(session, ctx, ticket):
            tell(session, leader, "no_worker", now=now, ticket_id=ticket.id,
                 markup=dispatch_keyboard(ctx.codec, ticket.id, leader.language),
                 number=ticket.number, target=target_label(ctx.rules, ticket.target, leader.language))
            told += 1
    return told


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


def hold_for_review(session: Session, ctx: BotContext, ticket: Ticket, reporter: Person, *,
                    now: datetime) -> None:
    """Tell the leaders a flooding resident's ticket waits for their review."""
    assert ticket.id is not None
    for leader in leaders_for(session, ctx, ticket):
        tell(session, leader, "held_for_review", now=now, ticket_id=ticket.id,
             markup=held_keyboard(ctx.codec, ticket.id, leader.language), number=ticket.number,
             reporter=reporter.name or str(reporter.telegram_id), summary=shorten(ticket.text or "-", 200))


def card_values(ctx: BotContext, ticket: Ticket, lang: str, *, duplicate: Earlier | None = None) -> dict[str, str]:
    """The fields of the new-ticket card; ``duplicate``: an earlier report that may be the same problem."""
    rules = ctx.rules
    hint = "" if duplicate is None else "\n" + t("w_possible_duplicate", lang, number=duplicate.number,
                                                    age=age_text(duplicate.created_at, as_utc(ticket.created_at)))
    return {
        "duplicate": hint,
        "number": ticket.number,
        "priority": priority_label(ticket.priority, lang),
        "category": rules.category_name(ticket.category, lang),
        "area": area_label(rules, ticket.area, lang) if ticket.area else target_label(rules, ticket.target, lang),
        "place": _place(ticket),
        "summary": shorten(ticket.text or "-", 300),
        "claim_by": local_time(rules, ticket.claim_by),
        "resolve_by": local_time(rules, ticket.resolve_by),
    }
