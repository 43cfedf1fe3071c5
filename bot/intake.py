"""Residents' reports: text, photo with caption, location, voice. Every report becomes a ticket at once;
a report whose place is unknown is kept as a draft while the bot asks where."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, func, select

from bot import keyboards as kb
from bot.context import BotContext
from bot.dispatching import dispatch, hold_for_review
from bot.render import local_time, target_label
from bot.replies import say, tell
from bot.state import clear_state, get_state, set_state
from bot.texts import t
from cases import outbox
from cases.db import core_connection
from cases.models import ChatState, Person, Ticket, TicketEvent
from cases.routing.router import Report, RouteDecision, route
from cases.rules.schema import LocalizedText
from cases.services import tickets as svc

VOICE_ATTACH_WINDOW = timedelta(minutes=15)


def decide(ctx: BotContext, text: str, *, lat: float | None, lon: float | None, home: str | None) -> RouteDecision:
    """Route a report with the bot's rules."""
    return route(Report(text=text, lat=lat, lon=lon, home_area=home), ctx.rules, ctx.model)


_T = Ticket.__table__  # type: ignore[attr-defined]
_REPORTS_SINCE = select(func.count()).select_from(_T).where(
    _T.c.reporter_id == bindparam("reporter"), _T.c.created_at > bindparam("since")
)


def reports_last_hour(session: Session, person: Person, *, now: datetime) -> int:
    """How many tickets ``person`` opened in the last hour (for flood holding)."""
    since = now - timedelta(hours=1)
    return int(core_connection(session).execute(_REPORTS_SINCE, {"reporter": person.id, "since": since}).scalar_one())


def take_report(session: Session, ctx: BotContext, person: Person, *, chat_id: int, message_id: int, text: str,
                now: datetime, photo_file_id: str | None = None, voice_file_id: str | None = None,
                lat: float | None = None, lon: float | None = None) -> Ticket:
    """Open (idempotently) a ticket from a resident's message and answer them."""
    decision = decide(ctx, text, lat=lat, lon=lon, home=person.home_area)
    held = reports_last_hour(session, person, now=now) >= ctx.rules.defaults.reports_per_hour
    opened = svc.open_report(
        session, rules=ctx.rules, reporter=person, chat_id=chat_id, message_id=message_id, text=text,
        category=decision.category, priority=decision.priority, area=decision.area, target=decision.target,
        route_index=decision.route_index, explanation=decision.to_dict(), photo_file_id=photo_file_id,
        voice_file_id=voice_file_id, lat=lat, lon=lon, held=held, now=now,
    )
    ticket = opened.ticket
    if opened.event_id is None:
        return ticket  # a redelivered message: it was answered the first time
    assert ticket.id is not None
    lang = person.language
    advice = emergency_advice(ctx, ticket.category, ticket.priority)
    if advice is not None:
        tell(session, person, "emergency_advice", now=now, ticket_id=ticket.id, purpose="advice",
             number=ticket.number, advice=advice.get(lang))
    elif ticket.priority == "emergency":
        tell(session, person, "emergency_advice", now=now, ticket_id=ticket.id, purpose="advice",
             number=ticket.number, advice=t("rx_general_advice", lang))
    if ticket.target is None or ticket.status == "draft":
        ask_location(session, ctx, person, ticket, now=now)
        return ticket
    acknowledge(session, ctx, person, ticket, now=now, cause=opened.event_id)
    choices = category_choices(ctx, decision)
    if choices:
        tell(session, person, "category_unsure", now=now, ticket_id=ticket.id,
             markup=kb.category_keyboard(ctx.codec, ctx.rules, ticket.id, choices, lang),
             category=ctx.rules.category_name(ticket.category, lang))
    return ticket


def emergency_advice(ctx: BotContext, category_id: str, priority: str) -> LocalizedText | None:
    """The advice to send at once: the category's own, else (for a report judged an emergency by its danger
    signals) the rules' general danger advice."""
    category = ctx.rules.categories.get(category_id)
    if category is not None and category.emergency_advice is not None:
        return category.emergency_advice
    return ctx.rules.danger_signals.advice if priority == "emergency" else None


CLOSE_RUNNER_UP = 0.8


def category_choices(ctx: BotContext, decision: RouteDecision) -> list[str]:
    """Categories to offer as buttons: every category when nothing matched (a resident must be able to pick
    any of them), the close rivals when unsure."""
    if decision.category == "other":
        return [c for c in ctx.rules.categories if c != "other"]
    close = decision.runner_up is not None and decision.runner_up_score >= CLOSE_RUNNER_UP * decision.category_score
    if not (decision.category_uncertain or close):
        return []
    rivals = [c for c, _ in decision.candidates if c != decision.category]
    return _unique([*rivals[:3], "other"])


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def acknowledge(session: Session, ctx: BotContext, person: Person, ticket: Ticket, *, now: datetime,
                cause: int | None = None) -> None:
    """Tell the resident their ticket number, category, target and promised time; dispatch it (``cause``: see
    :func:`bot.dispatching.dispatch`)."""
    assert ticket.id is not None
    lang = person.language
    if ticket.held:
        tell(session, person, "ticket_held", now=now, ticket_id=ticket.id, number=ticket.number)
        hold_for_review(session, ctx, ticket, person, now=now)
        return
    tell(session, person, "ticket_opened", now=now, ticket_id=ticket.id, purpose="ack",
         urgency=outbox.EMERGENCY if ticket.priority == "emergency" else None,
         markup=kb.remove_keyboard() if ticket.lat is not None else None,
         number=ticket.number, category=ctx.rules.category_name(ticket.category, lang),
         target=target_label(ctx.rules, ticket.target, lang), due=local_time(ctx.rules, ticket.resolve_by))
    dispatch(session, ctx, ticket, now=now, cause=cause)


def ask_location(session: Session, ctx: BotContext, person: Person, ticket: Ticket, *, now: datetime) -> None:
    """Ask where a draft ticket is: share location, use home, or pick a community."""
    assert ticket.id is not None
    lang = person.language
    extra = [(kb.t("btn_use_home", lang), ctx.codec.encode(kb.USE_HOME, ticket.id))] if person.home_area else None
    # each message names exactly the buttons it carries
    home: dict[str, Any] = {"home": kb.t("btn_use_home", lang)} if extra else {}
    tell(session, person, "ask_location_home" if extra else "ask_location", now=now, ticket_id=ticket.id,
         number=ticket.number, **home,
         markup=kb.areas_keyboard(ctx.codec, ctx.rules, kb.LOCATE_COMMUNITY, ticket.id, ctx.community_ids, lang,
                                  extra=extra))
    tell(session, person, "ask_location_keyboard", now=now, ticket_id=ticket.id,
         button=kb.t("btn_share_location", lang), markup=kb.location_request_keyboard(lang))
    set_state(session, person.telegram_id, "location", ticket_id=ticket.id, now=now)


def locate_draft(session: Session, ctx: BotContext, person: Person, ticket: Ticket, *, now: datetime,
                 lat: float | None = None, lon: float | None = None, area: str | None = None) -> bool:
    """Give a draft its place (a point or a chosen grid) and dispatch it; False if still unplaced."""
    decision = decide(ctx, ticket.text, lat=lat, lon=lon, home=area)
    if decision.target is None:
        return False
    assert ticket.id is not None
    svc.locate(session, ticket_id=ticket.id, actor=person, rules=ctx.rules, area=decision.area,
               target=decision.target, route_index=decision.route_index, explanation=decision.to_dict(),
               lat=lat, lon=lon, now=now)
    clear_state(session, person.telegram_id)
    acknowledge(session, ctx, person, ticket, now=now)
    return True


def on_location(session: Session, ctx: BotContext, person: Person, *, chat_id: int, message_id: int,
                lat: float, lon: float, now: datetime) -> None:
    """A shared location: places a waiting draft, sets home, or waits for the report's words."""
    state = get_state(session, chat_id)
    lang = person.language
    if state is not None and state.awaiting == "location" and state.ticket_id is not None:
        ticket = session.get(Ticket, state.ticket_id)
        if ticket is not None and ticket.status == "draft":
            if not locate_draft(session, ctx, person, ticket, now=now, lat=lat, lon=lon):
                say(session, chat_id, lang, "location_outside", now=now)
            return
    if state is not None and state.awaiting == "home":
        decision = decide(ctx, "", lat=lat, lon=lon, home=None)
        if decision.area is None:
            say(session, chat_id, lang, "location_outside", now=now)
            return
        set_home(session, ctx, person, decision.area, now=now)
        return
    set_state(session, chat_id, "report_location", data={"lat": lat, "lon": lon, "message_id": message_id},
              now=now)
    say(session, chat_id, lang, "location_pending", now=now)


def set_home(session: Session, ctx: BotContext, person: Person, area: str, *, now: datetime) -> None:
    """Remember ``area`` as the person's home place."""
    from cases.services.people import set_home as remember

    remember(session, person=person, area=area, rules=ctx.rules, now=now)
    clear_state(session, person.telegram_id)
    tell(session, person, "home_set", now=now, markup=kb.remove_keyboard(),
         area=ctx.rules.area_name(area, person.language))


def answers_location_question(session: Session, ctx: BotContext, person: Person, state: ChatState | None,
                              text: str, *, now: datetime) -> bool:
    """Words answering "where is it?" (a place name and no new problem) place the waiting draft."""
    if state is None or state.awaiting != "location" or state.ticket_id is None or not text.strip():
        return False
    ticket = session.get(Ticket, state.ticket_id)
    if ticket is None or ticket.status != "draft":
        return False
    answer = route(Report(text=text), ctx.rules)  # keywords alone: does it name a problem, or only a place?
    if answer.location_source != "place" or answer.category != "other" or answer.area is None:
        return False  # a new report, not an answer: it gets its own ticket
    return locate_draft(session, ctx, person, ticket, now=now, area=answer.area)


def pending_location(state: ChatState | None) -> tuple[float, float] | None:
    """A location shared just before the report's words."""
    if state is None or state.awaiting != "report_location":
        return None
    try:
        return float(state.data["lat"]), float(state.data["lon"])
    except (KeyError, TypeError, ValueError):
        return None


def on_voice(session: Session, ctx: BotContext, person: Person, *, chat_id: int, message_id: int, file_id: str,
             now: datetime) -> None:
    """Keep a voice note: on the resident's newest active ticket of the last minutes, else on a new one."""
    recent = session.exec(
        select(Ticket).where(
            Ticket.reporter_id == person.id,
            col(Ticket.status).in_(["draft", "open", "claimed"]),
            col(Ticket.created_at) > now - VOICE_ATTACH_WINDOW,
        ).order_by(col(Ticket.id).desc())
    ).first()
    if recent is not None and recent.id is not None and recent.voice_file_id is None:
        recent.voice_file_id = file_id
        recent.updated_at = now
        session.add(recent)
        session.add(TicketEvent(ticket_id=recent.id, at=now, actor_id=person.id, kind="voice_added",
                                from_status=recent.status, to_status=recent.status, data={"file_id": file_id}))
        ticket = recent
    else:
        ticket = take_report(session, ctx, person, chat_id=chat_id, message_id=message_id, text="",
                             voice_file_id=file_id, now=now)
    tell(session, person, "voice_kept", now=now, ticket_id=ticket.id, number=ticket.number)
