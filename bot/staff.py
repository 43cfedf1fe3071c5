"""Grid workers', leaders' and supervisors' commands and buttons. Every action is checked again by the
domain services (role and scope from the database); buttons only say what was asked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot import followups
from bot import keyboards as kb
from bot.callbacks import Callback
from bot.context import BotContext
from bot.dispatching import Again, dispatch
from bot.render import (
    age_text,
    area_label,
    person_label,
    shorten,
    status_label,
    target_label,
    ticket_details,
    ticket_line,
)
from bot.replies import answer, close_press, refuse_press, remove_buttons, say, say_raw, tell
from bot.resident import parse_number
from bot.sending import queue_call, queue_photo
from bot.state import clear_state, get_state, set_state
from bot.texts import t
from cases import outbox
from cases.clock import as_utc
from cases.models import ChatState, GroupBinding, Person, Role, RoleAssignment, Ticket
from cases.services import authz
from cases.services import tickets as svc
from cases.services.errors import InvalidInput, NotFound, PermissionDenied
from cases.states import TransitionError

LIST_LIMIT = 30


def _scopes(session: Session, person: Person) -> list[RoleAssignment]:
    assert person.id is not None
    return authz.roles_of(session, person.id)


def _in_scopes(session: Session, ctx: BotContext, scopes: list[RoleAssignment], **filters: Any) -> dict[int, Ticket]:
    """The tickets of every area and team in ``scopes`` (``filters`` as for ``list_tickets``), by number."""
    found: dict[int, Ticket] = {}
    for assignment in scopes:
        for ticket in svc.list_tickets(session, rules=ctx.rules, scope=assignment.scope, **filters):
            assert ticket.id is not None
            found[ticket.id] = ticket
    return found


def cmd_queue(session: Session, ctx: BotContext, person: Person, chat_id: int, *, now: datetime) -> None:
    """Open tickets in the person's areas and teams, oldest first."""
    lang = person.language
    found = _in_scopes(session, ctx, _scopes(session, person), status="open", limit=LIST_LIMIT)
    if not found:
        say(session, chat_id, lang, "queue_empty", now=now)
        return
    tickets = sorted(found.values(), key=lambda tk: tk.id or 0)[:LIST_LIMIT]
    say_raw(session, chat_id, "\n".join([t("queue_header", lang)] + [ticket_line(ctx.rules, tk, lang)
                                                                      for tk in tickets]), now=now)
    for ticket in tickets[:5]:
        assert ticket.id is not None
        say_raw(session, chat_id, ticket_line(ctx.rules, ticket, lang), now=now,
                markup=kb.dispatch_keyboard(ctx.codec, ticket.id, lang))


def cmd_find(session: Session, ctx: BotContext, person: Person, chat_id: int, args: list[str], *,
             now: datetime) -> None:
    """/find WORDS: tickets of the person's areas and teams whose report contains every word, newest first."""
    lang = person.language
    words = [w for w in args if w.strip()]
    scopes = _scopes(session, person)
    if not scopes:
        say(session, chat_id, lang, "not_allowed", now=now)
        return
    if not words:
        say(session, chat_id, lang, "usage", now=now, usage="/find 金鹗小区 5栋")
        return
    found = _in_scopes(session, ctx, scopes, words=words, limit=LIST_LIMIT, newest_first=True)
    if not found:
        say(session, chat_id, lang, "find_empty", now=now, words=" ".join(words))
        return
    tickets = sorted(found.values(), key=lambda tk: -(tk.id or 0))[:LIST_LIMIT]
    say_raw(session, chat_id, "\n".join([t("find_header", lang)] + [ticket_line(ctx.rules, tk, lang)
                                                                     for tk in tickets]), now=now)


def cmd_my(session: Session, ctx: BotContext, person: Person, chat_id: int, *, now: datetime) -> None:
    """Tickets the person holds."""
    lang = person.language
    tickets = svc.list_tickets(session, rules=ctx.rules, status="claimed", claimed_by=person.id, limit=LIST_LIMIT)
    if not tickets:
        say(session, chat_id, lang, "my_empty", now=now)
        return
    say_raw(session, chat_id, "\n".join([t("my_header", lang)] + [ticket_line(ctx.rules, tk, lang)
                                                                   for tk in tickets]), now=now)


def show_ticket(session: Session, ctx: BotContext, person: Person, chat_id: int, ticket_id: int | None, *,
                now: datetime) -> None:
    """Details and full history, if the person may see the ticket."""
    lang = person.language
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None or not authz.can_view(session, ctx.rules, person, ticket):
        say(session, chat_id, lang, "ticket_not_found", now=now, number=f"#{ticket_id}")
        return
    assert ticket.id is not None
    is_reporter = ticket.reporter_id == person.id
    events = svc.history(session, ticket.id)
    if is_reporter and not _is_staff_for(session, ctx, person, ticket):
        events = [e for e in events if e.public]
    text = ticket_details(
        ctx.rules, ticket, lang,
        reporter=session.get(Person, ticket.reporter_id),
        holder=session.get(Person, ticket.claimed_by) if ticket.claimed_by else None,
        events=events,
        show_reporter=not is_reporter,
    )
    markup = None
    if ticket.claimed_by == person.id and ticket.status == "claimed":
        markup = kb.holder_keyboard(ctx.codec, ticket.id, lang)
    elif authz.can(session, ctx.rules, person, "reassign", ticket) and ticket.status in ("open", "claimed"):
        held = ticket.held and ticket.status == "open"  # a flood's report waits for this review
        markup = (kb.held_keyboard if held else kb.supervisor_keyboard)(ctx.codec, ticket.id, lang)
    say_raw(session, chat_id, text, now=now, markup=markup)
    send_attachments(session, chat_id, ticket, now=now)


def send_attachments(session: Session, chat_id: int, ticket: Ticket, *, now: datetime) -> None:
    """What the resident sent besides words: the photo, the voice note, the shared location."""
    caption = ticket.number
    if ticket.photo_file_id:
        queue_photo(session, chat_id=chat_id, photo=ticket.photo_file_id, caption=caption, ticket_id=ticket.id,
                    now=now)
    if ticket.voice_file_id:
        queue_call(session, chat_id=chat_id, method="sendVoice", ticket_id=ticket.id, now=now,
                   payload={"chat_id": chat_id, "voice": ticket.voice_file_id, "caption": caption})
    if ticket.lat is not None and ticket.lon is not None:
        queue_call(session, chat_id=chat_id, method="sendLocation", ticket_id=ticket.id, now=now,
                   payload={"chat_id": chat_id, "latitude": ticket.lat, "longitude": ticket.lon})


def _is_staff_for(session: Session, ctx: BotContext, person: Person, ticket: Ticket) -> bool:
    assert person.id is not None
    return any(authz.oversees(ctx.rules, ticket, scope) for scope in authz.staff_scopes(session, person.id))


def cmd_ticket(session: Session, ctx: BotContext, person: Person, chat_id: int, args: list[str], *,
               now: datetime) -> None:
    """/ticket NUMBER."""
    number = parse_number(args[0] if args else None)
    if number is None:
        say(session, chat_id, person.language, "usage", now=now, usage="/ticket 12")
        return
    show_ticket(session, ctx, person, chat_id, number, now=now)


def cmd_overdue(session: Session, ctx: BotContext, person: Person, chat_id: int, *, now: datetime) -> None:
    """Overdue tickets in the person's areas, oldest deadline first."""
    lang = person.language
    scopes = _scopes(session, person)
    found = {number: ticket for status in ("open", "claimed")
             for number, ticket in _in_scopes(session, ctx, scopes, status=status, limit=500).items()
             if ticket.resolve_by is not None and as_utc(ticket.resolve_by) < now}
    if not found:
        say(session, chat_id, lang, "overdue_empty", now=now)
        return
    tickets = sorted(found.values(), key=lambda tk: as_utc(tk.resolve_by) if tk.resolve_by else now)[:LIST_LIMIT]
    lines = [t("overdue_header", lang)]
    for ticket in tickets:
        holder = session.get(Person, ticket.claimed_by) if ticket.claimed_by else None
        lines.append(t("overdue_line", lang, number=ticket.number,
                       category=ctx.rules.category_name(ticket.category, lang),
                       area=area_label(ctx.rules, ticket.area, lang),
                       overdue=age_text(ticket.resolve_by, now, lang), level=ticket.escalation_level,
                       holder=person_label(holder, lang)))
    say_raw(session, chat_id, "\n".join(lines), now=now)


def cmd_bind(session: Session, ctx: BotContext, person: Person, chat_id: int, chat_type: str, args: list[str], *,
             now: datetime) -> None:
    """Bind a group chat to a grid (leaders and supervisors of that grid)."""
    lang = person.language
    if chat_type not in ("group", "supergroup"):
        say(session, chat_id, lang, "group_only", now=now)
        return
    area = args[0] if args else ""
    if area not in ctx.rules.areas or ctx.rules.areas[area].kind != "grid":
        say(session, chat_id, lang, "unknown_area", now=now, area=area or "?")
        return
    assert person.id is not None
    scopes = authz.staff_scopes(session, person.id, (Role.LEADER.value, Role.SUPERVISOR.value))
    if not any(ctx.rules.is_within(area, scope) for scope in scopes):
        say(session, chat_id, lang, "not_allowed", now=now)
        return
    binding = session.get(GroupBinding, chat_id)
    if binding is None:
        assert person.id is not None
        binding = GroupBinding(chat_id=chat_id, area=area, bound_by=person.id, created_at=now)
    binding.area = area
    session.add(binding)
    say(session, chat_id, lang, "group_bound", now=now, area=ctx.rules.area_name(area, lang))


def cmd_pause(session: Session, ctx: BotContext, person: Person, chat_id: int, args: list[str], *,
              now: datetime) -> None:
    """/pause NUMBER REASON: stop the clock while waiting on the resident."""
    from cases.services.pausing import pause

    lang = person.language
    number = parse_number(args[0] if args else None)
    reason = " ".join(args[1:]).strip()
    if number is None or not reason:
        say(session, chat_id, lang, "usage", now=now, usage="/pause 12 等待居民提供门牌号")
        return
    ticket = _acted(session, ctx, person, chat_id, number, lambda: pause(
        session, ticket_id=number, actor=person, reason=reason, rules=ctx.rules, now=now), now=now)
    if ticket is not None:
        say(session, chat_id, lang, "paused_ok", now=now, number=ticket.number)
        reporter = session.get(Person, ticket.reporter_id)
        if reporter is not None:
            tell(session, reporter, "r_paused", now=now, ticket_id=ticket.id, number=ticket.number, reason=reason)


def cmd_resume(session: Session, ctx: BotContext, person: Person, chat_id: int, args: list[str], *,
               now: datetime) -> None:
    """/resume NUMBER."""
    from cases.services.pausing import resume

    number = parse_number(args[0] if args else None)
    if number is None:
        say(session, chat_id, person.language, "usage", now=now, usage="/resume 12")
        return
    ticket = _acted(session, ctx, person, chat_id, number, lambda: resume(
        session, ticket_id=number, actor=person, rules=ctx.rules, now=now), now=now)
    if ticket is not None:
        say(session, chat_id, person.language, "resumed_ok", now=now, number=ticket.number)


def cmd_merge(session: Session, ctx: BotContext, person: Person, chat_id: int, args: list[str], *,
              now: datetime) -> None:
    """/merge NUMBER INTO [REASON]: a duplicate joins a ticket still being handled (leaders and supervisors
    of both tickets' areas); its reporter is told and follows that ticket from then on."""
    lang = person.language
    number = parse_number(args[0] if args else None)
    into = parse_number(args[1] if len(args) > 1 else None)
    if number is None or into is None:
        say(session, chat_id, lang, "usage", now=now, usage="/merge 13 12 同一盏路灯")
        return
    if session.get(Ticket, into) is None:
        say(session, chat_id, lang, "ticket_not_found", now=now, number=f"#{into}")
        return
    reason = " ".join(args[2:]).strip() or None
    ticket = _acted(session, ctx, person, chat_id, number, lambda: svc.merge(
        session, ticket_id=number, into_id=into, actor=person, rules=ctx.rules, reason=reason, now=now), now=now)
    if ticket is None:
        return
    target = f"#{into}"
    say(session, chat_id, lang, "merged_ok", now=now, number=ticket.number, into=target)
    followups.after_merge(session, ctx, person, ticket, into, now=now)


def _acted(session: Session, ctx: BotContext, person: Person, chat_id: int, number: int, action: object, *,
           now: datetime) -> Ticket | None:
    """Run a service call, turning refusals into plain answers; the ticket after it, or None."""
    lang = person.language
    try:
        assert callable(action)
        action()
    except NotFound:
        say(session, chat_id, lang, "ticket_not_found", now=now, number=f"#{number}")
        return None
    except PermissionDenied:
        say(session, chat_id, lang, "not_allowed", now=now)
        return None
    except (TransitionError, InvalidInput) as exc:
        refuse(session, person, chat_id, number, exc, now=now)
        return None
    return session.get(Ticket, number)


def refuse(session: Session, person: Person, chat_id: int, number: int, exc: Exception, *, now: datetime) -> None:
    """Answer a refused action in the person's language (never the service's English message): the ticket's
    state when the state forbids it, else what was wrong with the input."""
    lang = person.language
    ticket = session.get(Ticket, number)
    code = getattr(exc, "code", None)
    label = f"#{number}"
    if code in ("not_paused", "already_paused"):
        say(session, chat_id, lang, code, now=now, number=label)
    elif code == "no_reason":
        say(session, chat_id, lang, "usage", now=now, usage="/pause 12 等待居民提供门牌号")
    elif ticket is not None and (isinstance(exc, TransitionError) or code == "not_pausable"):
        say(session, chat_id, lang, "action_refused", now=now, number=label, status=status_label(ticket.status, lang))
    else:
        say(session, chat_id, lang, "input_refused", now=now)


# ---------------------------------------------------------------- buttons

STAFF_ACTIONS = {kb.CLAIM, kb.DETAILS, kb.NOTE_PUBLIC, kb.NOTE_INTERNAL, kb.RESOLVE, kb.RELEASE, kb.TRANSFER,
                 kb.TRANSFER_TO, kb.REASSIGN, kb.REASSIGN_TO, kb.CANCEL, kb.DISPATCH}


def on_staff_button(session: Session, ctx: BotContext, person: Person, cb: Callback, *, query_id: str,
                    chat_id: int, message_id: int, now: datetime) -> bool:
    """Handle a staff button; False when ``cb`` is not a staff action."""
    if cb.action not in STAFF_ACTIONS:
        return False
    lang = person.language
    ticket_id = cb.int_arg(0)
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None:
        refuse_press(session, query_id, chat_id, message_id, "stale_button", lang, now=now)
        return True
    try:
        _staff_action(session, ctx, person, ticket, cb, query_id=query_id, chat_id=chat_id,
                      message_id=message_id, now=now)
    except PermissionDenied:
        answer(session, query_id, t("not_allowed", lang), now=now, alert=True)
    except (TransitionError, NotFound, InvalidInput):  # the ticket or the list behind the button moved on
        refuse_press(session, query_id, chat_id, message_id, "stale_button", lang, now=now)
    return True


def _staff_action(session: Session, ctx: BotContext, person: Person, ticket: Ticket, cb: Callback, *,
                  query_id: str, chat_id: int, message_id: int, now: datetime) -> None:
    lang = person.language
    rules = ctx.rules
    assert ticket.id is not None
    if cb.action == kb.DETAILS:
        answer(session, query_id, now=now)
        show_ticket(session, ctx, person, chat_id, ticket.id, now=now)
    elif cb.action == kb.CLAIM:
        claim(session, ctx, person, ticket, query_id=query_id, chat_id=chat_id, message_id=message_id, now=now)
    elif cb.action in (kb.NOTE_PUBLIC, kb.NOTE_INTERNAL, kb.RESOLVE, kb.CANCEL):
        verb = {"np": "note", "ni": "note", "r": "resolve", "cx": "cancel"}[cb.action]
        authz.require(session, rules, person, verb, ticket)
        if verb == "resolve" and ticket.status != "claimed":
            raise TransitionError("not claimed")
        answer(session, query_id, now=now)
        awaiting = {"np": "note_public", "ni": "note_internal", "r": "resolve", "cx": "cancel_reason"}[cb.action]
        set_state(session, chat_id, awaiting, ticket_id=ticket.id, now=now)
        key = {"note": "ask_note", "resolve": "ask_resolve_note", "cancel": "ask_cancel_reason"}[verb]
        say(session, chat_id, lang, key, now=now)
    elif cb.action == kb.RELEASE:
        svc.release(session, ticket_id=ticket.id, actor=person, rules=rules, now=now)
        close_press(session, query_id, chat_id, message_id, now=now)
        say(session, chat_id, lang, "released_ok", now=now, number=ticket.number)
        followups.tell_reporter(session, ticket, "r_released", now=now)
        dispatch(session, ctx, ticket, now=now,
                 again=Again("w_headline_released", {"worker": person_label(person, "zh")}))
    elif cb.action == kb.TRANSFER:
        authz.require(session, rules, person, "transfer", ticket)
        answer(session, query_id, now=now)
        say(session, chat_id, lang, "ask_transfer_target", now=now,
            markup=_transfer_keyboard(ctx, ticket, lang))
    elif cb.action == kb.TRANSFER_TO:
        target = _transfer_target(ctx, cb.arg(1))
        if target is None:
            raise TransitionError("unknown target")
        authz.require(session, rules, person, "transfer", ticket)
        close_press(session, query_id, chat_id, message_id, now=now)
        set_state(session, chat_id, "transfer_reason", ticket_id=ticket.id, data={"target": target}, now=now)
        say(session, chat_id, lang, "ask_transfer_reason", now=now)
    elif cb.action == kb.REASSIGN:
        authz.require(session, rules, person, "reassign", ticket)
        answer(session, query_id, now=now)
        workers = _workers_for(session, ctx, ticket)
        rows = [[(person_label(w, lang), ctx.codec.encode(kb.REASSIGN_TO, ticket.id, w.id))] for w in workers[:10]]
        say(session, chat_id, lang, "ask_reassign_worker", now=now, markup=kb.inline(rows) if rows else None)
    elif cb.action == kb.REASSIGN_TO:
        worker_id = cb.int_arg(1)
        worker = session.get(Person, worker_id) if worker_id is not None else None
        if worker is None:
            raise TransitionError("unknown worker")
        svc.reassign(session, ticket_id=ticket.id, actor=person, rules=rules, to_worker=worker, now=now)
        close_press(session, query_id, chat_id, message_id, now=now)
        say(session, chat_id, lang, "reassigned_ok", now=now, number=ticket.number, worker=person_label(worker, lang))
        followups.after_reassign(session, ctx, person, ticket, worker, now=now)
    elif cb.action == kb.DISPATCH:
        authz.require(session, rules, person, "reassign", ticket)
        if not ticket.held:
            raise TransitionError("not held")
        svc.release_hold(session, ticket_id=ticket.id, actor=person, rules=rules, now=now)
        close_press(session, query_id, chat_id, message_id, now=now)
        say(session, chat_id, lang, "dispatched_ok", now=now, number=ticket.number)
        followups.after_release_hold(session, ctx, ticket, now=now)


def claim(session: Session, ctx: BotContext, person: Person, ticket: Ticket, *, query_id: str, chat_id: int,
          message_id: int, now: datetime) -> None:
    """Claim: exactly one worker wins; everybody's announcement is edited; the loser is told who won.

    A ticket nobody holds any more (cancelled, merged, closed) is no loss to anyone: the press is told the
    ticket's state and the stale Claim button goes away."""
    assert ticket.id is not None
    lang = person.language
    result = svc.claim(session, ticket_id=ticket.id, worker=person, rules=ctx.rules, now=now)
    if not result.won:
        holder = result.holder
        if holder is None:
            answer(session, query_id, t("claim_gone", lang, number=ticket.number,
                                        status=status_label(result.ticket.status, lang)), now=now, alert=True)
            remove_buttons(session, chat_id, message_id, now=now)
            return
        answer(session, query_id, t("w_claim_lost", lang, number=ticket.number,
                                    worker=person_label(holder, lang)), now=now, alert=True)
        return
    answer(session, query_id, now=now)
    claimed = result.ticket
    tell(session, person, "w_claim_won", now=now, ticket_id=ticket.id, number=ticket.number,
         markup=kb.holder_keyboard(ctx.codec, ticket.id, lang), urgency=outbox.ACTION)
    followups.claimed_everywhere(session, ctx, claimed, person, now=now)
    reporter = session.get(Person, claimed.reporter_id)
    if reporter is not None:
        tell(session, reporter, "r_claimed", now=now, ticket_id=ticket.id, number=ticket.number,
             worker=person_label(person, reporter.language), dedupe_key=f"claimed:{ticket.id}:{claimed.claimed_at}")
    for follower, theirs in _followers(session, claimed):
        tell(session, follower, "r_follow_claimed", now=now, ticket_id=ticket.id, number=ticket.number,
             yours=theirs.number, worker=person_label(person, follower.language))


def _workers_for(session: Session, ctx: BotContext, ticket: Ticket) -> list[Person]:
    from bot.dispatching import handlers_of

    return handlers_of(session, ctx, ticket.target)


def _transfer_keyboard(ctx: BotContext, ticket: Ticket, lang: str) -> kb.Markup:
    """Grids of the same street and every team."""
    assert ticket.id is not None
    rules = ctx.rules
    street = rules.ancestor_of_kind(ticket.area, "street") if ticket.area else None
    grids = rules.grids_within(street) if street else rules.grids
    order = list(rules.areas)
    teams = list(rules.teams)
    rows = [[(rules.area_name(g, lang), ctx.codec.encode(kb.TRANSFER_TO, ticket.id, f"g{order.index(g)}"))]
            for g in grids if f"grid:{g}" != ticket.target]
    rows += [[(rules.team_name(team, lang), ctx.codec.encode(kb.TRANSFER_TO, ticket.id, f"t{i}"))]
             for i, team in enumerate(teams) if f"team:{team}" != ticket.target]
    return kb.inline(rows)


def _transfer_target(ctx: BotContext, code: str | None) -> str | None:
    if not code or len(code) < 2 or not code[1:].isdigit():
        return None
    index = int(code[1:])
    if code[0] == "g":
        order = list(ctx.rules.areas)
        if index < len(order) and ctx.rules.areas[order[index]].kind == "grid":
            return f"grid:{order[index]}"
    if code[0] == "t":
        teams = list(ctx.rules.teams)
        if index < len(teams):
            return f"team:{teams[index]}"
    return None


def _followers(session: Session, ticket: Ticket) -> list[tuple[Person, Ticket]]:
    """The reporters of duplicates merged into ``ticket`` (other than its own reporter), each with their
    ticket: they follow it from the merge on."""
    duplicates = session.exec(
        select(Ticket).where(Ticket.merged_into == ticket.id, Ticket.reporter_id != ticket.reporter_id)
        .order_by(col(Ticket.id))
    ).all()
    followers: dict[int, tuple[Person, Ticket]] = {}
    for duplicate in duplicates:
        reporter = session.get(Person, duplicate.reporter_id)
        if reporter is not None and duplicate.reporter_id not in followers:
            followers[duplicate.reporter_id] = (reporter, duplicate)
    return list(followers.values())


def _tell_followers(session: Session, ticket: Ticket, key: str, *, now: datetime, **values: Any) -> None:
    for follower, theirs in _followers(session, ticket):
        tell(session, follower, key, now=now, ticket_id=ticket.id, number=ticket.number, yours=theirs.number,
             **values)


# ---------------------------------------------------------------- answers to the bot's questions

def on_staff_reply(session: Session, ctx: BotContext, person: Person, state: ChatState | None, *, text: str,
                   photo_file_id: str | None, now: datetime) -> bool:
    """Text (or photo) answering a question the bot asked a worker (``state``, the chat's pending question);
    False if nothing was asked."""
    if state is None or state.ticket_id is None or state.awaiting not in (
            "note_public", "note_internal", "resolve", "transfer_reason", "cancel_reason"):
        return False
    chat_id = state.chat_id
    lang = person.language
    rules = ctx.rules
    ticket_id = state.ticket_id
    awaiting = state.awaiting
    data = dict(state.data)
    note = text.strip()
    if not note and awaiting != "resolve":
        say(session, chat_id, lang, "note_needs_text", now=now)  # a sticker, a file...: the question stays
        return True
    clear_state(session, chat_id)

    def act() -> None:
        if awaiting in ("note_public", "note_internal"):
            svc.add_note(session, ticket_id=ticket_id, actor=person, rules=rules, text=note,
                         public=awaiting == "note_public", now=now)
        elif awaiting == "resolve":
            svc.resolve(session, ticket_id=ticket_id, actor=person, rules=rules, note=note or None,
                        photo_file_id=photo_file_id, now=now)
        elif awaiting == "transfer_reason":
            svc.transfer(session, ticket_id=ticket_id, actor=person, rules=rules, to_target=str(data["target"]),
                         reason=note or "-", now=now)
        else:
            svc.cancel(session, ticket_id=ticket_id, actor=person, rules=rules, reason=note or "-", now=now)

    ticket = _acted(session, ctx, person, chat_id, ticket_id, act, now=now)
    if ticket is None:
        return True
    assert ticket.id is not None
    if awaiting == "note_public":
        say(session, chat_id, lang, "note_added", now=now, number=ticket.number)
        followups.tell_reporter(session, ticket, "r_note", now=now, note=shorten(note, 1000))
        _tell_followers(session, ticket, "r_follow_note", now=now, note=shorten(note, 1000))
    elif awaiting == "note_internal":
        say(session, chat_id, lang, "note_added", now=now, number=ticket.number)
    elif awaiting == "resolve":
        say(session, chat_id, lang, "resolved_ok", now=now, number=ticket.number)
        reporter = session.get(Person, ticket.reporter_id)
        if reporter is not None:
            if photo_file_id:
                queue_photo(session, chat_id=reporter.telegram_id, photo=photo_file_id, caption=ticket.number,
                            ticket_id=ticket.id, now=now)
            # without a note (/skip) the resident is told it is fixed, not "fixed: -"
            noted: dict[str, Any] = {"note": shorten(note, 1000)} if note else {}
            tell(session, reporter, "r_resolved" if note else "r_resolved_no_note", now=now, ticket_id=ticket.id,
                 number=ticket.number, markup=kb.confirm_keyboard(ctx.codec, ticket.id, reporter.language),
                 **noted)
        _tell_followers(session, ticket, "r_follow_resolved" if note else "r_follow_resolved_no_note", now=now,
                        **({"note": shorten(note, 1000)} if note else {}))
    elif awaiting == "transfer_reason":
        target = target_label(rules, ticket.target, lang)
        say(session, chat_id, lang, "transferred_ok", now=now, number=ticket.number, target=target)
        followups.after_transfer(session, ctx, person, ticket, note, now=now)
    else:
        say(session, chat_id, lang, "cancelled_ok", now=now, number=ticket.number)
        followups.after_cancel(session, ctx, ticket, note, now=now)
    return True


def skip(session: Session, person: Person, chat_id: int, *, now: datetime, ctx: BotContext) -> None:
    """/skip: resolve without a note if that was asked, else drop the pending question."""
    state = get_state(session, chat_id)
    if state is not None and state.awaiting == "resolve":
        on_staff_reply(session, ctx, person, state, text="", photo_file_id=None, now=now)
        return
    clear_state(session, chat_id)
    say(session, chat_id, person.language, "skipped", now=now)
