"""The kernel every ticket action shares: the locked read of a row, the event appended for each change
(stamped with the channel the adapter acts through), view authorisation, the checked transition, and the
target, deadline and person helpers. A changing action reads its row with :func:`locked_ticket` first
(``SELECT ... FOR UPDATE``), so concurrent actions on one ticket serialize; :func:`move` checks view
permission, then the transition, then the action's permission, before it changes anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from cases.deadlines import deadlines_for, next_due_at
from cases.models import Person, Status, Ticket, TicketEvent
from cases.rules.schema import Rules
from cases.services.authz import Perm, can_view, require, why_not
from cases.services.errors import InvalidInput, NotFound, PermissionDenied
from cases.states import Action, next_status

__all__ = [
    "authorize",
    "check_target",
    "fresh_deadlines",
    "locked_ticket",
    "move",
    "person_by_id",
    "record_event",
    "set_deadlines",
    "with_channel",
]


def locked_ticket(session: Session, ticket_id: int) -> Ticket:
    """The ticket read ``FOR UPDATE`` and refreshed from the row (held until the caller commits); NotFound
    otherwise."""
    ticket = session.exec(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if ticket is None:
        raise NotFound(f"there is no ticket #{ticket_id}")
    return ticket


def with_channel(session: Session, data: dict[str, Any] | None) -> dict[str, Any]:
    """An event's data, stamped with the channel an adapter acts through (``session.info["via"]``: "console",
    "open311:<key>"), so the history says how every change was made."""
    data = dict(data or {})
    if session.info.get("via"):
        data["via"] = session.info["via"]
    return data


def record_event(
    session: Session,
    ticket: Ticket,
    *,
    actor: Person | None,
    kind: str,
    now: datetime,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    public: bool = True,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Append an event to the ticket's history (its data stamped with the channel); history is never
    rewritten."""
    assert ticket.id is not None
    data = with_channel(session, data)
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        actor_id=actor.id if actor else None,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        note=note,
        public=public,
        data=data,
    )
    session.add(event)
    return event


def authorize(session: Session, rules: Rules, actor: Person, ticket: Ticket) -> None:
    """PermissionDenied unless ``actor`` may see the ticket: someone who may not even see it learns nothing
    about its state."""
    if not can_view(session, rules, actor, ticket):
        reason = why_not(session, rules, actor, Perm.VIEW, ticket)
        raise PermissionDenied(reason or f"you may not see ticket #{ticket.id}")


def move(
    session: Session,
    rules: Rules,
    actor: Person | None,
    ticket: Ticket,
    action: Action,
    perm: Perm,
    *,
    now: datetime,
    kind: str | None = None,
    note: str | None = None,
    public: bool = True,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Check view permission, the transition, then the action's permission; apply and record it."""
    if actor is not None:
        authorize(session, rules, actor, ticket)
    before = Status(ticket.status)
    after = next_status(before, action, ticket_id=ticket.id)
    if actor is not None:
        require(session, rules, actor, perm, ticket)
    ticket.status = after.value
    ticket.updated_at = now
    event = record_event(
        session,
        ticket,
        actor=actor,
        kind=kind or action.value,
        now=now,
        from_status=before.value,
        to_status=after.value,
        note=note,
        public=public,
        data=data,
    )
    return event


def fresh_deadlines(rules: Rules, category: str, start: datetime) -> dict[str, Any]:
    """The columns :func:`set_deadlines` sets, by name (for a row being built)."""
    deadlines = deadlines_for(rules, category, start)
    return {"claim_by": deadlines.claim_by, "resolve_by": deadlines.resolve_by, "warn_at": deadlines.warn_at,
            "warned": False, "claim_reminders": 0, "escalation_level": 0}


def set_deadlines(ticket: Ticket, rules: Rules, start: datetime) -> None:
    """Fresh claim, resolve and warning deadlines for the ticket's category from ``start``, with the
    reminder, warning and escalation counts back to zero."""
    for name, value in fresh_deadlines(rules, ticket.category, start).items():
        setattr(ticket, name, value)


def check_target(rules: Rules, target: str) -> None:
    """InvalidInput unless ``target`` is ``grid:<id>`` of a grid or ``team:<id>`` of a team in the rules."""
    kind, _, ref = target.partition(":")
    if not (
        (kind == "grid" and ref in rules.areas and rules.areas[ref].kind == "grid")
        or (kind == "team" and ref in rules.teams)
    ):
        raise InvalidInput(f"{target!r} is not a known grid:<id> or team:<id>")


def person_by_id(session: Session, person_id: int | None) -> Person | None:
    """The person with this id, or None for no id."""
    return session.get(Person, person_id) if person_id is not None else None


def unclaim(ticket: Ticket, rules: Rules, now: datetime) -> None:
    """Nobody holds ``ticket`` any more: it waits for a claim again, with a fresh claim limit from ``now`` and no
    reminders sent yet."""
    ticket.claimed_by = ticket.claimed_at = None
    ticket.claim_by, ticket.claim_reminders = deadlines_for(rules, ticket.category, now).claim_by, 0
    ticket.next_due_at = next_due_at(rules, ticket)


def send_to(ticket: Ticket, target: str) -> None:
    """``ticket`` now belongs to ``target`` (a checked ``grid:<id>`` or ``team:<id>``); a grid is also its place."""
    ticket.target = target
    if target.startswith("grid:"):
        ticket.area = target[5:]
