"""Residents' commands and buttons: /start, /help, /lang, /home, /mine, /cancel, Fixed / Not fixed, rating,
category and place choices."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot import keyboards as kb
from bot.callbacks import Callback
from bot.context import BotContext
from bot.dispatching import Again, dispatch, edit_announcements
from bot.intake import decide, locate_draft, set_home
from bot.render import target_label, ticket_line
from bot.replies import answer, close_press, refuse_press, remove_buttons, say, say_raw, tell
from bot.state import set_state
from bot.texts import t
from cases.models import Person, RoleAssignment, Ticket
from cases.routing.router import apply_routes
from cases.services import tickets as svc
from cases.services.errors import InvalidInput, NotFound, PermissionDenied
from cases.states import TransitionError

MINE_LIMIT = 20


def is_staff(session: Session, person: Person) -> bool:
    """Whether the person holds any staff role."""
    return session.exec(select(RoleAssignment).where(RoleAssignment.person_id == person.id)).first() is not None


def cmd_start(session: Session, ctx: BotContext, person: Person, chat_id: int, *, now: datetime) -> None:
    """Greet the person in their language."""
    say(session, chat_id, person.language, "welcome", now=now, name=person.name or "")
    if is_staff(session, person):
        say(session, chat_id, person.language, "help_staff", now=now)


def cmd_help(session: Session, ctx: BotContext, person: Person, chat_id: int, *, now: datetime) -> None:
    """How to report, and staff commands for staff."""
    say(session, chat_id, person.language, "help_resident", now=now)
    if is_staff(session, person):
        say(session, chat_id, person.language, "help_staff", now=now)


def cmd_lang(session: Session, ctx: BotContext, person: Person, chat_id: int, *, now: datetime) -> None:
    """Offer 中文 / English."""
    say(session, chat_id, person.language, "lang_pick", now=now, markup=kb.language_keyboard(ctx.codec))


def cmd_home(session: Session, ctx: BotContext, person: Person, chat_id: int, *, now: datetime) -> None:
    """Ask for the home place: a shared location or community buttons."""
    lang = person.language
    say(session, chat_id, lang, "home_ask", now=now,
        markup=kb.areas_keyboard(ctx.codec, ctx.rules, kb.HOME_COMMUNITY, 0, ctx.community_ids, lang))
    say(session, chat_id, lang, "ask_location_keyboard", now=now, button=t("btn_share_location", lang),
        markup=kb.location_request_keyboard(lang))
    set_state(session, chat_id, "home", now=now)


def cmd_mine(session: Session, ctx: BotContext, person: Person, chat_id: int, *, now: datetime) -> None:
    """List the resident's own tickets, newest first."""
    tickets = session.exec(
        select(Ticket).where(Ticket.reporter_id == person.id).order_by(col(Ticket.id).desc()).limit(MINE_LIMIT)
    ).all()
    lang = person.language
    if not tickets:
        say(session, chat_id, lang, "mine_empty", now=now)
        return
    lines = [t("mine_header", lang)] + [ticket_line(ctx.rules, ticket, lang) for ticket in tickets]
    say_raw(session, chat_id, "\n".join(lines), now=now)


TICKET_NUMBER_MAX = 2**31 - 1
"""Ticket ids are 32-bit integers on PostgreSQL: a larger typed number names no ticket (and must never reach
a query, where it would overflow)."""


def parse_number(arg: str | None) -> int | None:
    """A ticket number typed as ``12`` or ``#12``; None unless it could be a ticket (1 .. 2**31-1)."""
    if not arg:
        return None
    digits = arg.strip().lstrip("#")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 10:
        return None
    number = int(digits)
    return number if 1 <= number <= TICKET_NUMBER_MAX else None


def cmd_cancel(session: Session, ctx: BotContext, person: Person, chat_id: int, args: list[str], *,
               now: datetime) -> None:
    """Withdraw one's own unclaimed report."""
    lang = person.language
    number = parse_number(args[0] if args else None)
    if number is None:
        say(session, chat_id, lang, "usage", now=now, usage="/cancel 12")
        return
    ticket = session.get(Ticket, number)
    if ticket is None or ticket.reporter_id != person.id:
        say(session, chat_id, lang, "ticket_not_found", now=now, number=f"#{number}")
        return
    try:
        svc.cancel(session, ticket_id=number, actor=person, rules=ctx.rules, reason="withdrawn by the resident",
                   now=now)
    except (TransitionError, PermissionDenied):
        say(session, chat_id, lang, "cancel_refused", now=now, number=ticket.number)
        return
    say(session, chat_id, lang, "cancelled_by_you", now=now, number=ticket.number)
    edit_announcements(session, ctx, ticket, lambda lang: t("w_ticket_cancelled", lang, number=ticket.number),
                       now=now)


def on_resident_button(session: Session, ctx: BotContext, person: Person, cb: Callback, *, query_id: str,
                       chat_id: int, message_id: int, now: datetime) -> bool:
    """Handle a resident's button; False when ``cb`` is not a resident action."""
    lang = person.language
    rules = ctx.rules
    ticket_id = cb.int_arg(0)
    if cb.action == kb.LANG:
        choice = cb.arg(1)
        if choice in ("zh", "en"):
            person.language = choice
            session.add(person)
            answer(session, query_id, now=now)
            say(session, chat_id, choice, "lang_set", now=now)
        else:
            answer(session, query_id, t("stale_button", lang), now=now)
        return True
    if cb.action in (kb.HOME_COMMUNITY, kb.HOME_GRID):
        area = _area_arg(ctx, cb, 1)
        if area is None:
            return _stale(session, ctx, person, query_id, chat_id, message_id, now)
        answer(session, query_id, now=now)
        if rules.areas[area].kind == "grid":
            set_home(session, ctx, person, area, now=now)
        else:
            say(session, chat_id, lang, "pick_grid", now=now,
                markup=kb.areas_keyboard(ctx.codec, rules, kb.HOME_GRID, 0, rules.grids_within(area), lang))
        return True
    if cb.action not in (kb.FIXED, kb.NOT_FIXED, kb.RATE, kb.CATEGORY, kb.LOCATE_COMMUNITY, kb.LOCATE_GRID,
                         kb.USE_HOME):
        return False
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None or ticket.reporter_id != person.id:
        refuse_press(session, query_id, chat_id, message_id, "not_allowed", lang, now=now)
        return True
    try:
        _resident_action(session, ctx, person, ticket, cb, query_id=query_id, chat_id=chat_id,
                         message_id=message_id, now=now)
    except (TransitionError, NotFound, InvalidInput):
        _stale(session, ctx, person, query_id, chat_id, message_id, now)
    except PermissionDenied:
        refuse_press(session, query_id, chat_id, message_id, "not_allowed", lang, now=now)
    return True


def _stale(session: Session, ctx: BotContext, person: Person, query_id: str, chat_id: int, message_id: int,
           now: datetime) -> bool:
    refuse_press(session, query_id, chat_id, message_id, "stale_button", person.language, now=now)
    return True


def _area_arg(ctx: BotContext, cb: Callback, index: int) -> str | None:
    position = cb.int_arg(index)
    order = list(ctx.rules.areas)
    if position is None or not 0 <= position < len(order):
        return None
    return order[position]


def _resident_action(session: Session, ctx: BotContext, person: Person, ticket: Ticket, cb: Callback, *,
                     query_id: str, chat_id: int, message_id: int, now: datetime) -> None:
    lang = person.language
    rules = ctx.rules
    assert ticket.id is not None
    if cb.action == kb.FIXED:
        svc.confirm(session, ticket_id=ticket.id, actor=person, rules=rules, now=now)
        close_press(session, query_id, chat_id, message_id, now=now)
        tell(session, person, "r_confirmed", now=now, ticket_id=ticket.id, number=ticket.number,
             markup=kb.rating_keyboard(ctx.codec, ticket.id))
        _tell_holder(session, ctx, ticket, "w_confirmed", now=now)
    elif cb.action == kb.NOT_FIXED:
        holder_id = ticket.claimed_by
        svc.reopen(session, ticket_id=ticket.id, actor=person, rules=rules, now=now)  # the history says who
        if holder_id is not None and (holder := session.get(Person, holder_id)) is not None:
            tell(session, holder, "w_reopened", now=now, ticket_id=ticket.id, number=ticket.number)
        close_press(session, query_id, chat_id, message_id, now=now)
        tell(session, person, "r_reopened", now=now, ticket_id=ticket.id, number=ticket.number)
        refreshed = session.get(Ticket, ticket.id)
        assert refreshed is not None
        dispatch(session, ctx, refreshed, now=now, again=Again("w_headline_reopened"))
    elif cb.action == kb.RATE:
        stars = cb.int_arg(1)
        if stars is None or not 1 <= stars <= 5:
            raise TransitionError("bad rating")
        svc.rate(session, ticket_id=ticket.id, actor=person, stars=stars, rules=rules, now=now)
        close_press(session, query_id, chat_id, message_id, now=now)
        tell(session, person, "r_rated", now=now, ticket_id=ticket.id, stars=stars)
    elif cb.action == kb.CATEGORY:
        position = cb.int_arg(1)
        order = list(rules.categories)
        if position is None or not 0 <= position < len(order) or ticket.status not in ("open", "draft"):
            raise TransitionError("category can no longer change")
        category = order[position]
        decision = decide(ctx, ticket.text, lat=ticket.lat, lon=ticket.lon, home=ticket.area or person.home_area)
        # A report judged an emergency (danger signals) stays one; staff can lower it.
        priority = "emergency" if ticket.priority == "emergency" else rules.categories[category].priority
        _, routed, _ = apply_routes(rules, category, priority, decision.area)
        target = routed or ticket.target
        previous_target = ticket.target
        svc.recategorize(session, ticket_id=ticket.id, actor=person, rules=rules, category=category,
                         priority=priority, target=target, now=now)
        close_press(session, query_id, chat_id, message_id, now=now)
        tell(session, person, "category_changed", now=now, ticket_id=ticket.id,
             category=rules.category_name(category, lang), target=target_label(rules, target, lang))
        advice = rules.categories[category].emergency_advice
        if advice:  # what intake would have said had the report named this category
            tell(session, person, "emergency_advice", now=now, ticket_id=ticket.id, purpose="advice",
                 number=ticket.number, advice=advice.get(lang))
        refreshed = session.get(Ticket, ticket.id)
        assert refreshed is not None
        if refreshed.status == "open" and refreshed.target != previous_target:
            dispatch(session, ctx, refreshed, now=now)
    else:  # choosing the place of a draft
        if ticket.status != "draft":
            raise TransitionError("already placed")
        if cb.action == kb.USE_HOME:
            area = person.home_area
            if area is None:
                answer(session, query_id, t("no_home", lang), now=now)
                return
        else:
            area = _area_arg(ctx, cb, 1)
            if area is None:
                raise TransitionError("no such area")
        answer(session, query_id, now=now)
        if rules.areas[area].kind != "grid":
            say(session, chat_id, lang, "pick_grid", now=now,
                markup=kb.areas_keyboard(ctx.codec, rules, kb.LOCATE_GRID, ticket.id, rules.grids_within(area),
                                         lang))
            return
        remove_buttons(session, chat_id, message_id, now=now)
        locate_draft(session, ctx, person, ticket, now=now, area=area)


def _tell_holder(session: Session, ctx: BotContext, ticket: Ticket, key: str, *, now: datetime) -> None:
    if ticket.claimed_by is None:
        return
    holder = session.get(Person, ticket.claimed_by)
    if holder is not None:
        tell(session, holder, key, now=now, ticket_id=ticket.id, number=ticket.number)
