"""Who is told what after a staff action, whichever adapter made it (chat buttons and commands in
:mod:`bot.staff`, the web console in :mod:`web.actions`): one place, so the resident and the workers hear the
same thing however a leader acted. Everything goes through the outbox in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot import keyboards as kb
from bot.context import BotContext
from bot.dispatching import Again, dispatch, edit_announcements
from bot.render import person_label, shorten, target_label
from bot.replies import tell
from bot.texts import t
from cases.models import Person, Ticket


def tell_reporter(session: Session, ticket: Ticket, key: str, *, now: datetime, **values: Any) -> None:
    """Queue ``key`` to the ticket's reporter (people without a chat are skipped by ``tell``)."""
    reporter = session.get(Person, ticket.reporter_id)
    if reporter is not None:
        tell(session, reporter, key, now=now, ticket_id=ticket.id, number=ticket.number, **values)


def claimed_everywhere(session: Session, ctx: BotContext, ticket: Ticket, holder: Person, *,
                       now: datetime) -> None:
    """Edit every announcement of the ticket to 'claimed by NAME', keeping only a Details button."""
    edit_announcements(session, ctx, ticket, lambda lang: t("w_claimed_by", lang, number=ticket.number,
                                                             worker=person_label(holder, lang)), now=now)


def after_reassign(session: Session, ctx: BotContext, actor: Person, ticket: Ticket, worker: Person, *,
                   now: datetime) -> None:
    """The new holder gets the ticket with its buttons; every announcement shows who holds it."""
    assert ticket.id is not None
    tell(session, worker, "w_assigned_to_you", now=now, ticket_id=ticket.id, number=ticket.number,
         actor=person_label(actor, worker.language),
         markup=kb.holder_keyboard(ctx.codec, ticket.id, worker.language))
    claimed_everywhere(session, ctx, ticket, worker, now=now)


def after_transfer(session: Session, ctx: BotContext, actor: Person, ticket: Ticket, reason: str, *,
                   now: datetime) -> None:
    """The resident hears where it went; the new target's workers get it, saying who sent it and why."""
    reporter = session.get(Person, ticket.reporter_id)
    if reporter is not None:
        tell(session, reporter, "r_transferred", now=now, ticket_id=ticket.id, number=ticket.number,
             target=target_label(ctx.rules, ticket.target, reporter.language))
    dispatch(session, ctx, ticket, now=now,
             again=Again("w_headline_transferred",
                         {"actor": person_label(actor, "zh"), "reason": shorten(reason, 300) if reason else "-"}))


def after_cancel(session: Session, ctx: BotContext, ticket: Ticket, reason: str, *, now: datetime) -> None:
    """The resident hears it was cancelled and why; no Claim button stays live."""
    tell_reporter(session, ticket, "r_cancelled_staff", now=now, reason=reason or "-")
    edit_announcements(session, ctx, ticket, lambda lang: t("w_ticket_cancelled", lang, number=ticket.number),
                       now=now)


def after_release_hold(session: Session, ctx: BotContext, ticket: Ticket, *, now: datetime) -> None:
    """A held report goes out to its workers."""
    dispatch(session, ctx, ticket, now=now)


def after_merge(session: Session, ctx: BotContext, actor: Person, ticket: Ticket, into: int, *,
                now: datetime) -> None:
    """Announcements say it was merged; its holder and reporter are told which ticket it joined."""
    target = f"#{into}"
    edit_announcements(session, ctx, ticket, lambda lang: t("w_merged_into", lang, number=ticket.number,
                                                            into=target), now=now)
    holder = session.get(Person, ticket.claimed_by) if ticket.claimed_by is not None else None
    if holder is not None and holder.id != actor.id:
        tell(session, holder, "w_merged_into", now=now, ticket_id=ticket.id, number=ticket.number, into=target)
    tell_reporter(session, ticket, "r_merged", now=now, into=target)


__all__ = ["after_cancel", "after_merge", "after_reassign", "after_release_hold", "after_transfer",
           "claimed_everywhere", "tell_reporter"]
