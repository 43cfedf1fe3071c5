"""Ticket actions. Each checks permission and the transition table, changes the ticket and appends
events in the caller's transaction (the caller's ``session_scope`` commits). No clock reads: ``now``.

A ticket row is read ``FOR UPDATE`` before it changes (PostgreSQL row lock; on SQLite every write
transaction already holds the database lock), so concurrent actions on one ticket serialize. Claiming
is a single conditional ``UPDATE ... WHERE status = 'open' RETURNING`` so exactly one claimer wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, or_, update
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, col, select

from cases.clock import as_utc
from cases.db import insert_ignoring
from cases.deadlines import deadlines_for, next_due_at
from cases.models import Person, Status, Ticket, TicketEvent
from cases.rules.schema import Rules
from cases.safe_text import without_nul
from cases.services.authz import Perm, can_view, can_work, require, target_in_scope, why_not
from cases.services.errors import InvalidInput, NotFound, PermissionDenied
from cases.services.learning import record_example
from cases.states import Action, TransitionError, check_merge, is_final, next_status

__all__ = [
    "ClaimResult",
    "Earlier",
    "add_note",
    "amend_text",
    "auto_close",
    "cancel",
    "claim",
    "confirm",
    "find_by_message",
    "get",
    "history",
    "list_tickets",
    "locate",
    "merge",
    "open_ticket",
    "possible_duplicate",
    "rate",
    "reassign",
    "recategorize",
    "release",
    "release_hold",
    "reopen",
    "resolve",
    "transfer",
    "verify",
]


@dataclass(frozen=True)
class ClaimResult:
    """Outcome of a claim: whether this worker won, the ticket as it now is, and who holds it."""

    won: bool
    ticket: Ticket
    holder: Person | None


# ---- reading ----


def get(session: Session, ticket_id: int) -> Ticket:
    """The ticket with this number; NotFound otherwise."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"there is no ticket #{ticket_id}")
    return ticket


_BY_MESSAGE = select(Ticket).where(col(Ticket.chat_id) == bindparam("chat_id"),
                                   col(Ticket.source_message_id) == bindparam("message_id"))


def find_by_message(session: Session, *, chat_id: int, message_id: int) -> Ticket | None:
    """The ticket opened from this chat message, if any."""
    return session.exec(_BY_MESSAGE, params={"chat_id": chat_id, "message_id": message_id}).first()


DUPLICATE_WINDOW = timedelta(hours=48)
"""How far back an earlier report of the same kind in the same grid counts as a possible duplicate."""
_STILL_HANDLED = (Status.OPEN.value, Status.CLAIMED.value)
_SAME_PROBLEM = (
    select(col(Ticket.id), col(Ticket.created_at))
    .where(col(Ticket.area) == bindparam("area"), col(Ticket.status).in_(_STILL_HANDLED),
           col(Ticket.category) == bindparam("category"), col(Ticket.id) != bindparam("id"),
           col(Ticket.created_at) >= bindparam("since"), col(Ticket.created_at) <= bindparam("until"))
    .order_by(col(Ticket.id).desc())
    .limit(1)
)


@dataclass(frozen=True)
class Earlier:
    """An earlier ticket that may report the same problem: what the new-ticket card names."""

    id: int
    created_at: datetime

    @property
    def number(self) -> str:
        """The human-readable ticket number, e.g. ``#1024``."""
        return f"#{self.id}"


def possible_duplicate(session: Session, ticket: Ticket, *, window: timedelta = DUPLICATE_WINDOW) -> Earlier | None:
    """The latest ticket still being handled in the same grid with the same category, opened at most
    ``window`` before ``ticket``: a hint for the workers and leaders, who decide whether to merge. Reports
    of the fallback category ``other`` are too varied to compare. Two columns, no ORM object: this runs
    for every new report."""
    if ticket.area is None or ticket.category == "other" or ticket.id is None:
        return None
    created = as_utc(ticket.created_at)
    row = session.execute(_SAME_PROBLEM, params={
        "area": ticket.area, "category": ticket.category, "id": ticket.id, "since": created - window,
        "until": created,
    }).first()
    return None if row is None else Earlier(int(row[0]), row[1])


def history(session: Session, ticket_id: int, *, public_only: bool = False) -> list[TicketEvent]:
    """A ticket's events, oldest first (``public_only`` hides internal notes, for residents)."""
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    if public_only:
        query = query.where(col(TicketEvent.public).is_(True))
    return list(session.exec(query.order_by(col(TicketEvent.at), col(TicketEvent.id))).all())


def in_area(rules: Rules, area: str) -> Any:
    """The tickets of ``area`` (an area id of the rules): placed in one of its grids, routed to one of its grids
    or to a team answering to it, and, for the district, the ones with no place yet. The one definition of an
    area's tickets for lists, filters and exports in every adapter."""
    if area not in rules.areas:
        raise InvalidInput(f"unknown area {area!r}")
    grids = rules.grids_within(area)
    teams = [f"team:{t}" for t in rules.teams if target_in_scope(rules, f"team:{t}", area)]
    conditions = [col(Ticket.area).in_(grids), col(Ticket.target).in_([f"grid:{g}" for g in grids])]
    if teams:
        conditions.append(col(Ticket.target).in_(teams))
    if area == rules.root:
        conditions.append(col(Ticket.area).is_(None))
    return or_(*conditions)

def list_tickets(
    session: Session,
    *,
    rules: Rules,
    status: str | Sequence[str] | None = None,
    scope: str | None = None,
    reporter_id: int | None = None,
    claimed_by: int | None = None,
    words: Sequence[str] = (),
    limit: int = 50,
    newest_first: bool = False,
    after_id: int | None = None,
) -> list[Ticket]:
    """Tickets filtered by status(es), scope (an area id: its grids, or ``team:<id>``), reporter, holder,
    and ``words`` the report must all contain (any case; ``%`` and ``_`` are taken literally).
    ``after_id`` pages through them oldest first: only tickets numbered above it."""
    if after_id is not None and newest_first:
        raise ValueError("after_id pages oldest first")
    query = select(Ticket)
    if after_id is not None:
        query = query.where(col(Ticket.id) > after_id)
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        query = query.where(col(Ticket.status).in_(statuses))
    if scope is not None:
        query = query.where(col(Ticket.target) == scope if scope.startswith("team:") else in_area(rules, scope))
    if reporter_id is not None:
        query = query.where(Ticket.reporter_id == reporter_id)
    if claimed_by is not None:
        query = query.where(Ticket.claimed_by == claimed_by)
    for word in words:
        query = query.where(col(Ticket.text).icontains(word, autoescape=True))
    order = col(Ticket.id).desc() if newest_first else col(Ticket.id)
    return list(session.exec(query.order_by(order).limit(limit)).all())


# ---- helpers ----


def _locked(session: Session, ticket_id: int) -> Ticket:
    ticket = session.exec(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if ticket is None:
        raise NotFound(f"there is no ticket #{ticket_id}")
    return ticket


def _with_channel(session: Session, data: dict[str, Any] | None) -> dict[str, Any]:
    """An event's data, stamped with the channel an adapter acts through (``session.info["via"]``: "console",
    "open311:<key>"), so the history says how every change was made."""
    data = dict(data or {})
    if session.info.get("via"):
        data["via"] = session.info["via"]
    return data


def _event(
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
    assert ticket.id is not None
    data = _with_channel(session, data)
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


def _authorize(session: Session, rules: Rules, actor: Person, ticket: Ticket) -> None:
    # Someone who may not even see the ticket learns nothing about its state.
    if not can_view(session, rules, actor, ticket):
        reason = why_not(session, rules, actor, Perm.VIEW, ticket)
        raise PermissionDenied(reason or f"you may not see ticket #{ticket.id}")


def _move(
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
        _authorize(session, rules, actor, ticket)
    before = Status(ticket.status)
    after = next_status(before, action, ticket_id=ticket.id)
    if actor is not None:
        require(session, rules, actor, perm, ticket)
    ticket.status = after.value
    ticket.updated_at = now
    event = _event(
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


def _set_deadlines(ticket: Ticket, rules: Rules, start: datetime) -> None:
    deadlines = deadlines_for(rules, ticket.category, start)
    ticket.claim_by, ticket.resolve_by, ticket.warn_at = (
        deadlines.claim_by,
        deadlines.resolve_by,
        deadlines.warn_at,
    )
    ticket.warned, ticket.claim_reminders, ticket.escalation_level = False, 0, 0


def _check_target(rules: Rules, target: str) -> None:
    kind, _, ref = target.partition(":")
    if not (
        (kind == "grid" and ref in rules.areas and rules.areas[ref].kind == "grid")
        or (kind == "team" and ref in rules.teams)
    ):
        raise InvalidInput(f"{target!r} is not a known grid:<id> or team:<id>")


def _person(session: Session, person_id: int | None) -> Person | None:
    return session.get(Person, person_id) if person_id is not None else None


# ---- intake ----


_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_EVENT = TicketEvent.__table__  # type: ignore[attr-defined]
_OPEN = insert_ignoring(_TICKET, conflict=["chat_id", "source_message_id"], returning=_TICKET.c.id)
_RECORD = insert(_EVENT)
_TICKET_COLUMNS = tuple(c.name for c in _TICKET.columns if c.name != "id")


def open_ticket(
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
) -> tuple[Ticket, bool]:
    """Open a ticket for a resident's message; ``(ticket, created)``. The same (chat, message) twice
    returns the first ticket and False, even under concurrent delivery. No target yet: a draft.

    The intake's hot path: two prepared Core statements (``INSERT ... ON CONFLICT (chat_id,
    source_message_id) DO NOTHING RETURNING id``, then the history event), no ORM flush or savepoint. The
    returned ticket is attached to ``session`` as if just loaded, so later changes to it are flushed.
    """
    text = without_nul(text)
    if target is not None:
        _check_target(rules, target)
    assert reporter.id is not None
    status = Status.DRAFT if target is None else Status.OPEN
    ticket = Ticket(
        status=status.value, category=category, priority=priority, area=area, target=target or "",
        route_index=route_index, explanation=explanation, reporter_id=reporter.id, chat_id=chat_id,
        source_message_id=message_id, text=text, photo_file_id=photo_file_id, voice_file_id=voice_file_id,
        lat=lat, lon=lon, created_at=now, updated_at=now, held=held,
    )
    if status is Status.OPEN:
        ticket.opened_at = now
        _set_deadlines(ticket, rules, now)
    ticket.next_due_at = next_due_at(rules, ticket)
    values = {name: getattr(ticket, name) for name in _TICKET_COLUMNS}
    connection = session.connection()
    new_id = connection.execute(_OPEN[connection.dialect.name], values).scalar()
    if new_id is None:  # the same message was delivered before (or concurrently, and that delivery won)
        existing = find_by_message(session, chat_id=chat_id, message_id=message_id)
        if existing is None:
            raise RuntimeError(f"ticket for message {chat_id}/{message_id} neither inserted nor found")
        return existing, False
    connection.execute(_RECORD, {
        "ticket_id": new_id, "at": now, "actor_id": reporter.id,
        "kind": "opened" if status is Status.OPEN else "drafted", "from_status": None,
        "to_status": status.value, "note": None, "public": True,
        "data": _with_channel(session, {"category": category, "priority": priority, "area": area, "target": target,
                                        "route_index": route_index, "held": held}),
    })
    ticket.id = new_id
    make_transient_to_detached(ticket)
    session.add(ticket)
    return ticket, True


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
    ticket = _locked(session, ticket_id)
    _check_target(rules, target)
    _move(
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
    _set_deadlines(ticket, rules, now)
    ticket.next_due_at = next_due_at(rules, ticket)
    session.flush()
    return ticket


def release_hold(session: Session, *, ticket_id: int, actor: Person, rules: Rules, now: datetime) -> Ticket:
    """A leader lets a held report (too many from one resident) go to its workers."""
    ticket = _locked(session, ticket_id)
    _authorize(session, rules, actor, ticket)
    require(session, rules, actor, Perm.UNHOLD, ticket)
    if not ticket.held:
        raise InvalidInput(f"ticket #{ticket.id} is not held")
    ticket.held, ticket.updated_at = False, now
    _event(session, ticket, actor=actor, kind="hold_released", now=now, public=False)
    session.flush()
    return ticket


# ---- handling ----


def claim(session: Session, *, ticket_id: int, worker: Person, rules: Rules, now: datetime) -> ClaimResult:
    """Claim an open ticket. Atomic: of any number of simultaneous claims exactly one wins; the others
    get ``won=False`` and the holder."""
    ticket = get(session, ticket_id)
    _authorize(session, rules, worker, ticket)
    require(session, rules, worker, Perm.CLAIM, ticket)
    won = (
        session.execute(
            update(Ticket)
            .where(
                col(Ticket.id) == ticket_id,
                col(Ticket.status) == Status.OPEN.value,
                col(Ticket.held).is_(False),
            )
            .values(
                status=Status.CLAIMED.value,
                claimed_by=worker.id,
                claimed_at=now,
                updated_at=now,
            )
            .returning(col(Ticket.id)),
            execution_options={"synchronize_session": False},
        ).first()
        is not None
    )
    ticket = session.exec(
        select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
    ).one()
    if won:
        ticket.next_due_at = next_due_at(rules, ticket)
        _event(
            session,
            ticket,
            actor=worker,
            kind=Action.CLAIM.value,
            now=now,
            from_status=Status.OPEN.value,
            to_status=Status.CLAIMED.value,
        )
        session.flush()
    holder = _person(session, ticket.claimed_by) if ticket.status == Status.CLAIMED else None
    return ClaimResult(won=won, ticket=ticket, holder=holder)


def release(
    session: Session, *, ticket_id: int, actor: Person, rules: Rules, reason: str | None = None, now: datetime
) -> Ticket:
    """The holder hands a ticket back to its grid or team: claimed → open, with a fresh claim limit."""
    ticket = _locked(session, ticket_id)
    _move(
        session,
        rules,
        actor,
        ticket,
        Action.RELEASE,
        Perm.RELEASE,
        now=now,
        note=reason,
        data={"released_by": ticket.claimed_by},
    )
    ticket.claimed_by = ticket.claimed_at = None
    ticket.claim_by, ticket.claim_reminders = deadlines_for(rules, ticket.category, now).claim_by, 0
    ticket.next_due_at = next_due_at(rules, ticket)
    session.flush()
    return ticket


def transfer(
    session: Session,
    *,
    ticket_id: int,
    actor: Person,
    rules: Rules,
    to_target: str,
    reason: str,
    now: datetime,
) -> Ticket:
    """Send a misrouted ticket to another grid or team (open|claimed → open); a reason is required."""
    if not reason.strip():
        raise InvalidInput("say why the ticket goes elsewhere (a reason is required)")
    _check_target(rules, to_target)
    ticket = _locked(session, ticket_id)
    if to_target == ticket.target:
        raise InvalidInput(f"ticket #{ticket.id} is already with {to_target}")
    _move(
        session,
        rules,
        actor,
        ticket,
        Action.TRANSFER,
        Perm.TRANSFER,
        now=now,
        note=reason,
        data={"from_target": ticket.target, "to_target": to_target, "released_by": ticket.claimed_by},
    )
    ticket.target = to_target
    if to_target.startswith("grid:"):
        ticket.area = to_target[5:]
    ticket.claimed_by = ticket.claimed_at = None
    ticket.claim_by, ticket.claim_reminders = deadlines_for(rules, ticket.category, now).claim_by, 0
    ticket.next_due_at = next_due_at(rules, ticket)
    session.flush()
    return ticket


def reassign(
    session: Session,
    *,
    ticket_id: int,
    actor: Person,
    rules: Rules,
    to_worker: Person,
    reason: str | None = None,
    now: datetime,
) -> Ticket:
    """A leader gives a ticket to a worker who can handle it (open|claimed → claimed)."""
    ticket = _locked(session, ticket_id)
    _authorize(session, rules, actor, ticket)
    require(session, rules, actor, Perm.REASSIGN, ticket)
    if not can_work(session, rules, to_worker, ticket.target):
        raise InvalidInput(f"{to_worker.name or 'that person'} is not a worker for {ticket.target}")
    previous = ticket.claimed_by
    _move(
        session,
        rules,
        actor,
        ticket,
        Action.REASSIGN,
        Perm.REASSIGN,
        now=now,
        note=reason,
        data={"from_worker": previous, "to_worker": to_worker.id},
    )
    ticket.claimed_by, ticket.claimed_at, ticket.held = to_worker.id, now, False
    ticket.next_due_at = next_due_at(rules, ticket)
    session.flush()
    return ticket


def add_note(
    session: Session,
    *,
    ticket_id: int,
    actor: Person,
    rules: Rules,
    text: str,
    public: bool = True,
    now: datetime,
) -> TicketEvent:
    """A progress note: public ones are shown to the resident, internal ones only to staff."""
    text = without_nul(text)
    if not text.strip():
        raise InvalidInput("a note cannot be empty")
    ticket = _locked(session, ticket_id)
    _authorize(session, rules, actor, ticket)
    require(session, rules, actor, Perm.NOTE, ticket)
    if is_final(ticket.status):
        raise TransitionError(f"cannot add a note to ticket #{ticket.id}: it is {ticket.status}")
    ticket.updated_at = now
    event = _event(session, ticket, actor=actor, kind="note", now=now, note=text, public=public)
    session.flush()
    return event


def resolve(
    session: Session,
    *,
    ticket_id: int,
    actor: Person,
    rules: Rules,
    note: str | None = None,
    photo_file_id: str | None = None,
    now: datetime,
) -> Ticket:
    """The holder says it is done: claimed → resolved; it closes on confirmation, verification or silence."""
    ticket = _locked(session, ticket_id)
    _move(
        session,
        rules,
        actor,
        ticket,
        Action.RESOLVE,
        Perm.RESOLVE,
        now=now,
        note=note,
        data={"photo_file_id": photo_file_id} if photo_file_id else None,
    )
    ticket.resolved_at = now
    ticket.next_due_at = next_due_at(rules, ticket)
    session.flush()
    return ticket


def _close(
    session: Session,
    *,
    ticket_id: int,
    actor: Person | None,
    rules: Rules,
    action: Action,
    perm: Perm,
    note: str | None,
    now: datetime,
) -> Ticket:
    ticket = _locked(session, ticket_id)
    _move(session, rules, actor, ticket, action, perm, now=now, note=note)
    ticket.closed_at, ticket.next_due_at = now, None
    session.flush()
    return ticket


def confirm(session: Session, *, ticket_id: int, actor: Person, rules: Rules, now: datetime) -> Ticket:
    """The resident confirms the fix: resolved → closed."""
    return _close(
        session,
        ticket_id=ticket_id,
        actor=actor,
        rules=rules,
        action=Action.CONFIRM,
        perm=Perm.CONFIRM,
        note=None,
        now=now,
    )


def verify(
    session: Session, *, ticket_id: int, actor: Person, rules: Rules, note: str | None = None, now: datetime
) -> Ticket:
    """A leader or supervisor verifies the fix: resolved → closed."""
    return _close(
        session,
        ticket_id=ticket_id,
        actor=actor,
        rules=rules,
        action=Action.VERIFY,
        perm=Perm.VERIFY,
        note=note,
        now=now,
    )


def auto_close(session: Session, *, ticket_id: int, rules: Rules, now: datetime) -> Ticket:
    """Nobody objected in time: resolved → closed by the system (no actor)."""
    return _close(
        session,
        ticket_id=ticket_id,
        actor=None,
        rules=rules,
        action=Action.AUTO_CLOSE,
        perm=Perm.VERIFY,
        note=None,
        now=now,
    )


def reopen(
    session: Session, *, ticket_id: int, actor: Person, rules: Rules, reason: str | None = None, now: datetime
) -> Ticket:
    """Not fixed after all: resolved → open, counted as rework, with fresh deadlines."""
    ticket = _locked(session, ticket_id)
    _move(
        session,
        rules,
        actor,
        ticket,
        Action.REOPEN,
        Perm.REOPEN,
        now=now,
        note=reason,
        data={"previous_holder": ticket.claimed_by, "reopen_count": ticket.reopen_count + 1},
    )
    ticket.reopen_count += 1
    ticket.claimed_by = ticket.claimed_at = ticket.resolved_at = None
    _set_deadlines(ticket, rules, now)
    ticket.next_due_at = next_due_at(rules, ticket)
    session.flush()
    return ticket


def rate(
    session: Session, *, ticket_id: int, actor: Person, rules: Rules, stars: int, now: datetime
) -> Ticket:
    """The reporter rates the service 1–5, once, after the ticket is resolved."""
    if not 1 <= stars <= 5:
        raise InvalidInput(f"a rating is 1 to 5 stars, got {stars}")
    ticket = _locked(session, ticket_id)
    _authorize(session, rules, actor, ticket)
    if ticket.reporter_id != actor.id:
        raise PermissionDenied("only the resident who reported it can rate a ticket")
    require(session, rules, actor, Perm.RATE, ticket)
    rated = session.execute(
        update(Ticket)
        .where(col(Ticket.id) == ticket_id, col(Ticket.rating).is_(None))
        .values(rating=stars, updated_at=now)
        .returning(col(Ticket.id)),
        execution_options={"synchronize_session": False},
    ).first()
    if rated is None:
        raise InvalidInput(f"ticket #{ticket_id} has already been rated")
    session.refresh(ticket)
    _event(session, ticket, actor=actor, kind="rated", now=now, data={"stars": stars})
    session.flush()
    return ticket


def cancel(
    session: Session, *, ticket_id: int, actor: Person, rules: Rules, reason: str | None = None, now: datetime
) -> Ticket:
    """Withdraw a report: the resident before it is claimed; a leader or supervisor any time, with reason."""
    ticket = _locked(session, ticket_id)
    _authorize(session, rules, actor, ticket)
    if ticket.reporter_id != actor.id and not (reason or "").strip():
        raise InvalidInput("staff must give a reason to cancel a ticket")
    _move(session, rules, actor, ticket, Action.CANCEL, Perm.CANCEL, now=now, note=reason)
    ticket.closed_at, ticket.next_due_at = now, None
    session.flush()
    return ticket


def merge(
    session: Session,
    *,
    ticket_id: int,
    into_id: int,
    actor: Person,
    rules: Rules,
    reason: str | None = None,
    now: datetime,
) -> Ticket:
    """Merge a duplicate into another ticket still being handled; both histories record it."""
    if into_id == ticket_id:
        check_merge(ticket_id, into_id, get(session, ticket_id).status)
    # Lock both rows in id order so two crossing merges cannot deadlock.
    first, second = sorted((ticket_id, into_id))
    locked = {first: _locked(session, first), second: _locked(session, second)}
    ticket, into = locked[ticket_id], locked[into_id]
    _authorize(session, rules, actor, ticket)
    _authorize(session, rules, actor, into)
    check_merge(ticket_id, into_id, into.status)
    _move(
        session, rules, actor, ticket, Action.MERGE, Perm.MERGE, now=now, note=reason, data={"into": into_id}
    )
    ticket.merged_into, ticket.closed_at, ticket.next_due_at = into_id, now, None
    _event(session, into, actor=actor, kind="merged_in", now=now, note=reason, data={"from": ticket_id})
    into.updated_at = now
    session.flush()
    return ticket


def amend_text(
    session: Session, *, ticket_id: int, actor: Person, rules: Rules, new_text: str, now: datetime
) -> Ticket:
    """The resident edited the message the ticket came from: keep the new text, the old one in the event."""
    new_text = without_nul(new_text)
    ticket = _locked(session, ticket_id)
    _authorize(session, rules, actor, ticket)
    if ticket.reporter_id != actor.id:
        raise PermissionDenied("only the resident who reported it can change its text")
    require(session, rules, actor, Perm.AMEND, ticket)
    if new_text == ticket.text:
        return ticket
    _event(
        session, ticket, actor=actor, kind="edited", now=now, note=new_text, data={"old_text": ticket.text}
    )
    ticket.text, ticket.updated_at = new_text, now
    session.flush()
    return ticket


def recategorize(
    session: Session,
    *,
    ticket_id: int,
    actor: Person,
    rules: Rules,
    category: str,
    priority: str,
    target: str | None = None,
    route_index: int | None = None,
    explanation: dict[str, Any] | None = None,
    now: datetime,
) -> Ticket:
    """Correct the category and priority (optionally the target); deadlines follow the new category. The
    correction is kept as a labelled routing example (see :mod:`cases.services.learning`)."""
    if category not in rules.categories:
        raise InvalidInput(f"unknown category {category!r}")
    if target is not None:
        _check_target(rules, target)
    ticket = _locked(session, ticket_id)
    _authorize(session, rules, actor, ticket)
    require(session, rules, actor, Perm.RECATEGORIZE, ticket)
    if is_final(ticket.status):
        raise TransitionError(f"cannot recategorize ticket #{ticket.id}: it is {ticket.status}")
    _event(
        session,
        ticket,
        actor=actor,
        kind="recategorized",
        now=now,
        public=False,
        data={
            "from": {"category": ticket.category, "priority": ticket.priority, "target": ticket.target},
            "to": {"category": category, "priority": priority, "target": target or ticket.target},
        },
    )
    record_example(session, ticket, category=category, emergency=priority == "emergency", actor=actor, now=now)
    ticket.category, ticket.priority, ticket.updated_at = category, priority, now
    if target is not None and target != ticket.target:
        ticket.target = target
        if target.startswith("grid:"):
            ticket.area = target[5:]
    if route_index is not None:
        ticket.route_index = route_index
    if explanation is not None:
        ticket.explanation = explanation
    if ticket.status in (Status.OPEN, Status.CLAIMED) and ticket.opened_at is not None:
        deadlines = deadlines_for(rules, category, as_utc(ticket.opened_at))
        ticket.claim_by, ticket.resolve_by, ticket.warn_at = (
            deadlines.claim_by,
            deadlines.resolve_by,
            deadlines.warn_at,
        )
        ticket.next_due_at = next_due_at(rules, ticket)
    session.flush()
    return ticket
