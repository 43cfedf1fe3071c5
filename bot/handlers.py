"""The single entry for every stored update: decide what it is and hand it to the right handler.

Runs inside the inbox processor's transaction: no network here, only database work and outbox rows.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, select
from telegram import CallbackQuery, Message, Update, User

from bot import console_cmd, resident, staff, triage
from bot.context import BotContext
from bot.intake import answers_location_question, on_location, on_voice, pending_location, take_report
from bot.joining import cmd_join
from bot.render import status_label
from bot.replies import answer, refuse_press, say
from bot.state import clear_state, get_state
from bot.texts import CATALOGUE, normalise_lang, t
from cases.models import Person, Ticket
from cases.services import tickets as svc
from cases.services.people import get_or_create_person
from cases.states import is_final

log = logging.getLogger(__name__)

MEDIA_KINDS = ("sticker", "video", "video_note", "animation", "document", "contact", "poll", "audio", "dice",
               "game", "venue")


def person_for(session: Session, user: User, *, now: datetime) -> Person:
    """The Person behind a Telegram user, created on first contact (language from Telegram)."""
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    person = get_or_create_person(session, telegram_id=user.id, name=name, username=user.username,
                                  language=normalise_lang(user.language_code), now=now)
    if person.unreachable:
        person.unreachable = False  # they wrote to us, so they no longer block the bot
        session.add(person)
    return person


def handle_update(session: Session, update: Update, *, ctx: BotContext, now: datetime) -> None:
    """Handle one update completely (database work and queued replies only)."""
    if update.callback_query is not None:
        on_button(session, ctx, update.callback_query, now=now)
    elif update.edited_message is not None:
        on_edited(session, ctx, update.edited_message, now=now)
    elif update.message is not None:
        on_message(session, ctx, update.message, now=now)
    # Other update kinds (channel posts, member changes, polls...) need no answer.


def on_message(session: Session, ctx: BotContext, message: Message, *, now: datetime) -> None:
    """A new message in a private or group chat."""
    user = message.from_user
    if user is None or user.is_bot:
        return
    person = person_for(session, user, now=now)
    chat = message.chat
    text = message.text or message.caption or ""
    if text.startswith("/"):
        on_command(session, ctx, person, message, text, now=now)
        return
    if chat.type != "private":
        return  # groups receive notifications and button presses; reports come privately
    chat_id = chat.id
    lang = person.language
    photo = message.photo[-1].file_id if message.photo else None
    state = get_state(session, chat_id)
    if staff.on_staff_reply(session, ctx, person, state, text=text, photo_file_id=photo, now=now):
        return
    if message.location is not None:
        on_location(session, ctx, person, chat_id=chat_id, message_id=message.message_id,
                    lat=message.location.latitude, lon=message.location.longitude, now=now)
        return
    if message.voice is not None:
        on_voice(session, ctx, person, chat_id=chat_id, message_id=message.message_id,
                 file_id=message.voice.file_id, now=now)
        return
    for kind in MEDIA_KINDS:
        if getattr(message, kind, None):
            key = f"media_{kind}" if f"media_{kind}" in CATALOGUE else "media_other"
            say(session, chat_id, lang, "unsupported_media", now=now, what=t(key, lang))
            return
    if not text.strip() and photo is None:
        say(session, chat_id, lang, "empty_report", now=now)
        return
    if answers_location_question(session, ctx, person, state, text, now=now):
        return
    point = pending_location(state)
    if state is not None and state.awaiting in ("report_location", "home"):
        clear_state(session, chat_id)
    take_report(session, ctx, person, chat_id=chat_id, message_id=message.message_id, text=text,
                photo_file_id=photo, lat=point[0] if point else None, lon=point[1] if point else None, now=now)


def on_command(session: Session, ctx: BotContext, person: Person, message: Message, text: str, *,
               now: datetime) -> None:
    """Slash commands (``/cmd@botname args``)."""
    head, *args = text.split()
    command = head[1:].split("@", 1)[0].lower()
    chat_id = message.chat.id
    if command not in ("skip",):
        # A command abandons whatever question was pending (except the ones that answer it).
        state = get_state(session, chat_id)
        if state is not None and state.awaiting not in ("location", "report_location"):
            clear_state(session, chat_id)
    simple = {
        "start": resident.cmd_start, "help": resident.cmd_help, "lang": resident.cmd_lang,
        "language": resident.cmd_lang, "home": resident.cmd_home, "mine": resident.cmd_mine,
        "queue": staff.cmd_queue, "my": staff.cmd_my, "overdue": staff.cmd_overdue,
        "console": console_cmd.cmd_console,
    }
    with_args = {
        "cancel": resident.cmd_cancel, "join": cmd_join, "ticket": staff.cmd_ticket,
        "pause": staff.cmd_pause, "resume": staff.cmd_resume, "merge": staff.cmd_merge,
        "find": staff.cmd_find, "priority": triage.cmd_priority,
    }
    if command in simple:
        simple[command](session, ctx, person, chat_id, now=now)
    elif command in with_args:
        with_args[command](session, ctx, person, chat_id, args, now=now)
    elif command == "bind":
        staff.cmd_bind(session, ctx, person, chat_id, message.chat.type, args, now=now)
    elif command == "skip":
        staff.skip(session, person, chat_id, now=now, ctx=ctx)
    else:
        say(session, chat_id, person.language, "unknown_command", now=now)


def on_button(session: Session, ctx: BotContext, query: CallbackQuery, *, now: datetime) -> None:
    """A button press. The data is verified, then every action is re-checked in the domain."""
    person = person_for(session, query.from_user, now=now)
    message = query.message
    chat_id = message.chat.id if message is not None else person.telegram_id
    message_id = message.message_id if message is not None else 0
    cb = ctx.codec.decode(query.data)
    if cb is None:
        if message is not None:
            refuse_press(session, query.id, chat_id, message_id, "not_allowed", person.language, now=now, alert=True)
        else:
            answer(session, query.id, t("not_allowed", person.language), now=now, alert=True)
        return
    for handler in (staff.on_staff_button, resident.on_resident_button):
        if handler(session, ctx, person, cb, query_id=query.id, chat_id=chat_id, message_id=message_id, now=now):
            return
    answer(session, query.id, t("stale_button", person.language), now=now)


def on_edited(session: Session, ctx: BotContext, message: Message, *, now: datetime) -> None:
    """An edited report amends its ticket's text (with an event)."""
    user = message.from_user
    if user is None:
        return
    ticket = session.exec(select(Ticket).where(Ticket.chat_id == message.chat.id,
                                               Ticket.source_message_id == message.message_id)).first()
    if ticket is None:
        return
    person = person_for(session, user, now=now)
    new_text = message.text or message.caption or ""
    if not new_text or new_text == ticket.text or ticket.reporter_id != person.id or ticket.id is None:
        return
    if is_final(ticket.status):  # cancelled, merged or closed: the edit changes nothing, and says so
        say(session, message.chat.id, person.language, "edit_not_applied", now=now, number=ticket.number,
            status=status_label(ticket.status, person.language))
        return
    svc.amend_text(session, ticket_id=ticket.id, actor=person, rules=ctx.rules, new_text=new_text, now=now)
    say(session, message.chat.id, person.language, "edited_amended", now=now, number=ticket.number)


def on_give_up(session: Session, update: Update, error: str, *, now: datetime) -> None:
    """After repeated failures: the update stays stored with its error; apologise to the sender."""
    user = update.effective_user
    chat = update.effective_chat
    log.error("giving up on update %s: %s", update.update_id, error)
    if user is None or chat is None or chat.type != "private":
        return
    lang = normalise_lang(user.language_code)
    say(session, chat.id, lang, "internal_error", now=now, dedupe_key=f"giveup:{update.update_id}")
