"""A ticket comes in: opened for a resident's message (a draft until it has a place), located and
dispatched, or let go from a hold. Opening is idempotent per (chat, message), even under concurrent delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec

from sqlalchemy import insert
from sqlmodel import Session

from cases.db import attach_as_loaded, built_as_loaded, insert_ignoring
from cases.deadlines import next_due_at
from cases.models import Person, Status, Ticket, TicketEvent
from cases.rules.schema import Rules
from cases.safe_text import without_nul
from cases.services.authz import Perm, require
from cases.services.errors import InvalidInput
from cases.services.tickets.reading import find_by_message
from cases.services.tickets.recording import (
    authorize,
    check_target,
    fresh_deadlines,
    locked_ticket,
    move,
    record_event,
    set_deadlines,
    with_channel,
)
from cases.states import Action

P = ParamSpec("P")

__all__ = ["Opened", "locate", "open_report", "open_ticket", "release_hold"]


_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_EVENT = TicketEvent.__table__  # type: ignore[attr-defined]
_OPEN = insert_ignoring(_TICKET, conflict=["chat_id", "source_message_id"], returning=_TICKET.c.id)
_RECORD = insert(_EVENT)
_TICKET_COLUMNS = tuple(c.name for c in _TICKET.columns if c.name != "id")
_TICKET_DEFAULTS = {name: Ticket.model_fields[name].default for name in _TICKET_COLUMNS
                    if not Ticket.model_fields[name].is_required()
                    and Ticket.model_fields[name].default_factory is None}
"""Every column's default but the required ones and ``explanation`` (a factory's; :func:`open_ticket` gives it):
immutable values (None, numbers, strings, booleans), shared safely by every new ticket."""


@dataclass(frozen=True)
class Opened:
    """What :func:`open_report` did: the ticket, and the id of the event it recorded (None when the message
    had opened a ticket before and nothing was written)."""

    ticket: Ticket
    event_id: int | None

    @property
    def created(self) -> bool:
        """Whether this call opened the ticket."""
        return self.event_id is not None


def open_report(
    session: Session,
    *,
    rules: Rules,
    reporter: Person,
    chat_id: int,
    message_id: int,
    text: str,
    category: str,
    priority: str,
    area: str | None,
    target: str | None,
    route_index: int | None,
    explanation: dict[str, Any],
    photo_file_id: str | None = None,
    voice_file_id: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    held: bool = False,
    now: datetime,
) -> Opened:
    """Open a ticket for a resident's message. The same (chat, message) twice returns the first ticket and
    no event, even under concurrent delivery. No target yet: a draft.

    The intake's hot path: two prepared Core statements (``INSERT ... ON CONFLICT (chat_id,
    source_message_id) DO NOTHING RETURNING id``, then the history event), no ORM flush or savepoint. The
    returned ticket is attached to ``session`` as if just loaded, so later changes to it are flushed.
    """
    text = without_nul(text)
    if target is not None:
        check_target(rules, target)
    assert reporter.id is not None
    status = Status.DRAFT if target is None else Status.OPEN
    values: dict[str, Any] = {
        **_TICKET_DEFAULTS, "status": status.value, "category": category, "priority": priority, "area": area,
        "target": target or "", "route_index": route_index, "explanation": explanation, "reporter_id": reporter.id,
        "chat_id": chat_id, "source_message_id": message_id, "text": text, "photo_file_id": photo_file_id,
        "voice_file_id": voice_file_id, "lat": lat, "lon": lon, "created_at": now, "updated_at": now, "held": held,
    }
    if status is Status.OPEN:
        values["opened_at"] = now
        values.update(fresh_deadlines(rules, category, now))
    ticket = built_as_loaded(Ticket, values)
    values["next_due_at"] = ticket.__dict__["next_due_at"] = next_due_at(rules, ticket)
    connection = session.connection()
    new_id = connection.execute(_OPEN[connection.dialect.name], values).scalar()
    if new_id is None:  # the same message was delivered before (or concurrently, and that delivery won)
        existing = find_by_message(session, chat_id=chat_id, message_id=message_id)
        if existing is None:
            raise RuntimeError(f"ticket for message {chat_id}/{message_id} neither inserted nor found")
        return Opened(existing, None)
    event_key = connection.execute(_RECORD, {
        "ticket_id": new_id, "at": now, "actor_id": reporter.id,
        "kind": "opened" if status is Status.OPEN else "drafted", "from_status": None,
        "to_status": status.value, "note": None, "public": True,
        "data": with_channel(session, {"category": category, "priority": priority, "area": area, "target": target,
                                        "route_index": route_index, "held": held}),
    }).inserted_primary_key
    assert event_key is not None
    ticket.__dict__["id"] = new_id  # still transient: its whole state becomes the loaded state just below
    attach_as_loaded(session, ticket)
    return Opened(ticket, int(event_key[0]))


def _ticket_and_created(opening: Callable[P, Opened]) -> Callable[P, tuple[Ticket, bool]]:
    """``opening`` with its result as ``(ticket, created)``: the same parameters, checked the same way."""
    def pair(*args: P.args, **kwargs: P.kwargs) -> tuple[Ticket, bool]:
        opened = opening(*args, **kwargs)
        return opened.ticket, opened.created

    pair.__doc__ = ":func:`open_report` for callers that need only ``(ticket, created)``."
    return pair


open_ticket = _ticket_and_created(open_report)


def locate(
    session: Session,
    *,
    ticket_id: int,
    actor: Person,
    rules: Rules,
    area: str | None,
    target: str,
    route_index: int | None = None,
    explanation: dict[str, Any] | None = None,
    category: str | None = None,
    priority: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    now: datetime,
) -> Ticket:
    """A draft learns where it is (re-routed by the caller) and is dispatched: draft → open."""
    ticket = locked_ticket(session, ticket_id)
    check_target(rules, target)
    move(
        session,
        rules,
        actor,
        ticket,
        Action.LOCATE,
        Perm.LOCATE,
        now=now,
        data={"area": area, "target": target, "route_index": route_index},
    )
    ticket.area, ticket.target, ticket.route_index = area, target, route_index
    if explanation is not None:
        ticket.explanation = explanation
    if category is not None:
        ticket.category = category
    if priority is not None:
        ticket.priority = priority
    if lat is not None and lon is not None:
        ticket.lat, ticket.lon = lat, lon
    ticket.opened_at = now
    set_deadlines(ticket, rules, now)
    ticket.next_due_at = next_due_at(rules, ticket)
    session.flush()
    return ticket


def release_hold(session: Session, *, ticket_id: int, actor: Person, rules: Rules, now: datetime) -> Ticket:
    """A leader lets a held report (too many from one resident) go to its workers."""
    ticket = locked_ticket(session, ticket_id)
    authorize(session, rules, actor, ticket)
    require(session, rules, actor, Perm.UNHOLD, ticket)
    if not ticket.held:
        raise InvalidInput(f"ticket #{ticket.id} is not held")
    ticket.held, ticket.updated_at = False, now
    record_event(session, ticket, actor=actor, kind="hold_released", now=now, public=False)
    session.flush()
    return ticket
