"""Who may do what to which ticket, from role assignments in the database and the area tree.

Scopes are area ids (covering the area and everything below it) or ``team:<id>``.
- worker: view, claim, note, release, resolve, transfer, recategorize tickets whose *target* is in
  scope (a grid inside it, or the team); notes/resolve/release only on a ticket they hold.
- leader, supervisor: all staff powers (including reassign, cancel, merge, verify, reopen, unhold) on
  tickets they oversee: target or grid inside their scope. A supervisor simply has a larger scope.
- inspector: view what they oversee, never change anything.
- the reporter (resident): view their own tickets; cancel an unclaimed one; confirm, reopen and rate a
  resolved one; amend its text; say where it is while it is a draft. Never other residents' tickets.
"""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Session, select

from cases.models import Person, Role, RoleAssignment, Status, Ticket
from cases.rules.schema import Rules
from cases.services.errors import PermissionDenied
from cases.states import RESIDENT_CANCELLABLE, is_final


class Perm(StrEnum):
    """Things a person may try to do to a ticket."""

    VIEW = "view"
    LOCATE = "locate"
    CLAIM = "claim"
    NOTE = "note"
    RESOLVE = "resolve"
    RELEASE = "release"
    TRANSFER = "transfer"
    REASSIGN = "reassign"
    RECATEGORIZE = "recategorize"
    CANCEL = "cancel"
    MERGE = "merge"
    VERIFY = "verify"
    CONFIRM = "confirm"
    REOPEN = "reopen"
    RATE = "rate"
    AMEND = "amend"
    UNHOLD = "unhold"


_RESIDENT = {Perm.VIEW, Perm.CANCEL, Perm.CONFIRM, Perm.REOPEN, Perm.RATE, Perm.AMEND, Perm.LOCATE,
             Perm.RECATEGORIZE}
_WORKER = {Perm.VIEW, Perm.CLAIM, Perm.NOTE, Perm.RESOLVE, Perm.RELEASE, Perm.TRANSFER, Perm.RECATEGORIZE}
_HOLDER_ONLY = {Perm.NOTE, Perm.RESOLVE, Perm.RELEASE, Perm.TRANSFER, Perm.RECATEGORIZE}
_LEADER = _WORKER | {
    Perm.REASSIGN,
    Perm.CANCEL,
    Perm.MERGE,
    Perm.VERIFY,
    Perm.REOPEN,
    Perm.LOCATE,
    Perm.UNHOLD,
}
MANAGER_ROLES: tuple[str, ...] = (Role.LEADER.value, Role.SUPERVISOR.value)


def roles_of(session: Session, person_id: int) -> list[RoleAssignment]:
    """Every role assignment a person holds."""
    return list(session.exec(select(RoleAssignment).where(RoleAssignment.person_id == person_id)).all())


def target_in_scope(rules: Rules, target: str | None, scope: str) -> bool:
    """Whether a routing target (``grid:<id>``/``team:<id>``) is handled within ``scope``."""
    if scope.startswith("team:"):
        return target == scope
    kind, _, ref = (target or "").partition(":")
    if kind == "grid":
        return rules.is_within(ref, scope)
    if scope == rules.root:
        return True  # the district sees teams' tickets and tickets not yet located
    team = rules.teams.get(ref) if kind == "team" else None
    return team is not None and team.area is not None and rules.is_within(team.area, scope)


def oversees(rules: Rules, ticket: Ticket, scope: str) -> bool:
    """Whether ``scope`` covers the ticket: its target, or the grid the place falls in."""
    if target_in_scope(rules, ticket.target, scope):
        return True
    return not scope.startswith("team:") and ticket.area is not None and rules.is_within(ticket.area, scope)


def why_not(session: Session, rules: Rules, person: Person, action: Perm | str, ticket: Ticket) -> str | None:
    """None when ``person`` may do ``action`` to ``ticket``; otherwise the reason, in plain words."""
    action = Perm(action)
    number = f"ticket #{ticket.id}"
    if action is Perm.CLAIM and ticket.held:
        return f"{number} is held for a leader's review and cannot be claimed yet"
    reasons: list[str] = []
    if ticket.reporter_id == person.id:
        reason = _reporter_reason(action, ticket)
        if reason is None:
            return None
        reasons.append(reason)
    assignments = roles_of(session, person.id) if person.id is not None else []
    for assignment in assignments:
        reason = _staff_reason(rules, person, assignment, action, ticket)
        if reason is None:
            return None
        reasons.append(reason)
    if not assignments and ticket.reporter_id != person.id:
        return "you can only see and act on your own reports"
    return _most_relevant(reasons, number)


def _reporter_reason(action: Perm, ticket: Ticket) -> str | None:
    status = Status(ticket.status)
    if action not in _RESIDENT:
        return "only staff of the area can do that"
    if action is Perm.CANCEL and status not in RESIDENT_CANCELLABLE:
        return "you can cancel your report only before a worker claims it; ask the grid leader instead"
    if action in (Perm.CONFIRM, Perm.REOPEN) and status is not Status.RESOLVED:
        return f"ticket #{ticket.id} is {status.value}; only a resolved ticket can be confirmed or reopened"
    if action is Perm.RATE:
        if status not in (Status.RESOLVED, Status.CLOSED):
            return f"ticket #{ticket.id} can be rated once it is resolved"
        if ticket.rating is not None:
            return f"ticket #{ticket.id} has already been rated"
    if action is Perm.RECATEGORIZE and status not in RESIDENT_CANCELLABLE:
        return "you can change the category only before a worker claims the report"
    if action is Perm.AMEND and is_final(status):
        return f"ticket #{ticket.id} is {status.value} and can no longer be changed"
    if action is Perm.LOCATE and status is not Status.DRAFT:
        return f"ticket #{ticket.id} already has a place"
    return None


def _staff_reason(
    rules: Rules, person: Person, assignment: RoleAssignment, action: Perm, ticket: Ticket
) -> str | None:
    role = assignment.role
    number = f"ticket #{ticket.id}"
    if not oversees(rules, ticket, assignment.scope):
        return f"{number} is outside your area"
    if role == Role.INSPECTOR:
        return None if action is Perm.VIEW else "inspectors can read tickets but not change them"
    if role in MANAGER_ROLES:
        return None if action in _LEADER else "only the resident who reported it can do that"
    if role != Role.WORKER:
        return f"unknown role {role!r}"
    if action not in _WORKER:
        return "a grid leader or supervisor has to do that"
    if action is not Perm.VIEW and not target_in_scope(rules, ticket.target, assignment.scope):
        return f"{number} is assigned to {ticket.target or 'nobody yet'}, not to your grid or team"
    holder = ticket.claimed_by == person.id
    if (
        action in _HOLDER_ONLY
        and not holder
        and not (ticket.status == Status.OPEN and action in (Perm.NOTE, Perm.TRANSFER, Perm.RECATEGORIZE))
    ):
        return f"only the worker holding {number} (or a leader) can do that"
    return None


def _most_relevant(reasons: list[str], number: str) -> str:
    # An "outside your area" reason is the least informative when another role got closer.
    specific = [r for r in reasons if "outside your area" not in r]
    return (specific or reasons or [f"you may not do that to {number}"])[0]


def can(session: Session, rules: Rules, person: Person, action: Perm | str, ticket: Ticket) -> bool:
    """Whether ``person`` may do ``action`` to ``ticket``."""
    return why_not(session, rules, person, action, ticket) is None


def can_view(session: Session, rules: Rules, person: Person, ticket: Ticket) -> bool:
    """Whether ``person`` may see ``ticket`` at all (residents: only their own)."""
    return can(session, rules, person, Perm.VIEW, ticket)


def require(session: Session, rules: Rules, person: Person, action: Perm | str, ticket: Ticket) -> None:
    """Raise PermissionDenied (with the reason) unless ``person`` may do ``action`` to ``ticket``."""
    reason = why_not(session, rules, person, action, ticket)
    if reason is not None:
        raise PermissionDenied(reason)


def can_work(session: Session, rules: Rules, person: Person, target: str) -> bool:
    """Whether ``person`` holds a worker, leader or supervisor role covering ``target``."""
    if person.id is None:
        return False
    return any(
        a.role in (Role.WORKER, *MANAGER_ROLES) and target_in_scope(rules, target, a.scope)
        for a in roles_of(session, person.id)
    )


def staff_scopes(session: Session, person_id: int, roles: tuple[str, ...] | None = None) -> list[str]:
    """The scopes in which a person holds any of ``roles`` (any staff role when None)."""
    return sorted({a.scope for a in roles_of(session, person_id) if roles is None or a.role in roles})
