"""Formatting helpers for messages: local times, summaries, ticket lines and details."""

from __future__ import annotations

from datetime import datetime

from bot.routing_texts import render_explanation
from bot.texts import CATALOGUE, t
from cases.clock import as_utc
from cases.durations import format_duration
from cases.models import Person, Ticket, TicketEvent
from cases.rules.schema import Rules

SUMMARY_CHARS = 160
TEXT_CHARS = 1500


def local_time(rules: Rules, moment: datetime | None) -> str:
    """A time in the rules' time zone, e.g. ``11-24 14:30``; ``-`` when unknown."""
    if moment is None:
        return "-"
    return as_utc(moment).astimezone(rules.zone).strftime("%m-%d %H:%M")


def shorten(text: str, limit: int = SUMMARY_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis (the ticket keeps it whole)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def status_label(status: str, lang: str) -> str:
    """Localised ticket status."""
    return t(f"status_{status}", lang)


def priority_label(priority: str, lang: str) -> str:
    """Localised priority."""
    return t(f"priority_{priority}", lang)


def area_label(rules: Rules, area: str | None, lang: str) -> str:
    """Display name of a grid, or a dash."""
    return rules.area_name(area, lang) if area else "-"


def target_label(rules: Rules, target: str | None, lang: str) -> str:
    """Display name of a routing target (grid, team or area queue)."""
    if not target:
        return "-"
    return rules.target_name(target, lang)


def ticket_line(rules: Rules, ticket: Ticket, lang: str) -> str:
    """One line per ticket for lists."""
    return t(
        "ticket_line",
        lang,
        number=ticket.number,
        status=status_label(ticket.status, lang),
        category=rules.category_name(ticket.category, lang),
        summary=shorten(ticket.text or "-", 60),
    )


def person_label(person: Person | None, lang: str) -> str:
    """A person's display name, or 'unclaimed'."""
    if person is None:
        return t("nobody", lang)
    return person.name or (f"@{person.username}" if person.username else str(person.telegram_id))


def reporter_label(person: Person | None, lang: str) -> str:
    """A reporter's name, flagged when they blocked the bot (supervisors must reach them another way)."""
    label = person_label(person, lang)
    return label + t("unreachable_mark", lang) if person is not None and person.unreachable else label


def explain_short(ticket: Ticket, rules: Rules, lang: str) -> str:
    """The routing reason kept on the ticket, in ``lang``, in a few lines (keywords, classifier, urgency)."""
    explanation = ticket.explanation or {}
    lines = render_explanation(explanation, rules, lang, neighbours=False) if "category" in explanation else []
    return shorten("\n".join(lines), 400) if lines else "-"


def ticket_details(
    rules: Rules,
    ticket: Ticket,
    lang: str,
    *,
    reporter: Person | None,
    holder: Person | None,
    events: list[TicketEvent],
    show_reporter: bool,
) -> str:
    """The full card of a ticket with its history, for staff (and, trimmed, for its reporter)."""
    card = t(
        "details",
        lang,
        number=ticket.number,
        status=status_label(ticket.status, lang),
        level=ticket.escalation_level,
        category=rules.category_name(ticket.category, lang),
        priority=priority_label(ticket.priority, lang),
        area=area_label(rules, ticket.area, lang),
        target=target_label(rules, ticket.target, lang),
        reporter=reporter_label(reporter, lang) if show_reporter else "-",
        holder=person_label(holder, lang),
        created=local_time(rules, ticket.created_at),
        claim_by=local_time(rules, ticket.claim_by),
        resolve_by=local_time(rules, ticket.resolve_by),
        text=shorten(ticket.text or "-", TEXT_CHARS),
        why=explain_short(ticket, rules, lang),
    )
    lines = [card, "", t("history_header", lang)]
    lines += [event_line(rules, event, lang) for event in events]
    return "\n".join(lines)


def event_label(kind: str, lang: str) -> str:
    """A history event's kind in words (``merged_in`` → 并入重复工单 / a duplicate was merged in)."""
    key = f"event_{kind}"
    return t(key if key in CATALOGUE else "event_other", lang)


def event_line(rules: Rules, event: TicketEvent, lang: str, *, note_chars: int = 120) -> str:
    """One history line: local time, what happened, the status change (when there is one, in words) and
    the note. A first event has no status before it, so it shows no move."""
    moved = event.from_status and event.to_status and event.to_status != event.from_status
    move = t("event_move", lang, before=status_label(event.from_status or "", lang),
             after=status_label(event.to_status or "", lang)) if moved else ""
    note = t("event_note_suffix", lang, note=shorten(event.note, note_chars)) if event.note else ""
    return t("event_line", lang, at=local_time(rules, event.at), what=event_label(event.kind, lang), move=move,
             note=note)


def age_text(start: datetime | None, now: datetime, lang: str) -> str:
    """How long ago ``start`` was, compactly, in ``lang`` (``5天3小时`` / ``5d 3h``)."""
    if start is None:
        return "-"
    return format_duration(now - as_utc(start), lang)


def role_label(rules: Rules, role: str, scope: str, lang: str) -> str:
    """A role's title, by the level of its scope: a leader of a grid is a 网格长, of a community a 社区负责人."""
    if role == "leader" and scope in rules.areas:
        return t(f"role_leader_{rules.areas[scope].kind}", lang)
    return t(f"role_{role}", lang)


def place_name(ticket: Ticket) -> str | None:
    """The place name routing recognised in the report (e.g. 金鹗小区), if any."""
    stored = ticket.explanation or {}
    structured = stored.get("explanation")  # the routing decision's structured explanation
    location = structured.get("location") if isinstance(structured, dict) else None
    place = location.get("place") if isinstance(location, dict) else None
    name = place.get("keyword") if isinstance(place, dict) else None
    return name if isinstance(name, str) and name else None


def place_text(ticket: Ticket, lang: str) -> str:
    """Where the ticket is: the place name the resident wrote (when one was recognised), the shared point, or
    both; a dash when neither is known."""
    name = place_name(ticket)
    point = f"{ticket.lat:.5f}, {ticket.lon:.5f}" if ticket.lat is not None and ticket.lon is not None else ""
    if name:
        return t("place_and_point", lang, place=name, point=point) if point else name
    return point or "-"
