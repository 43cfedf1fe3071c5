"""The ticket lifecycle as an explicit transition table. Who may act is :mod:`cases.services.authz`'s job."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cases.models import FINAL_STATUSES, Status


class Action(StrEnum):
    """Everything that can move a ticket from one status to another."""

    LOCATE = "locate"
    CLAIM = "claim"
    RELEASE = "release"
    TRANSFER = "transfer"
    REASSIGN = "reassign"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    AUTO_CLOSE = "auto_close"
    VERIFY = "verify"
    REOPEN = "reopen"
    CANCEL = "cancel"
    MERGE = "merge"


@dataclass(frozen=True)
class Transition:
    """From which statuses an action may start, where it leads, and how to say it in an error."""

    sources: tuple[Status, ...]
    target: Status
    verb: str
    done: str


_D, _O, _C, _R = Status.DRAFT, Status.OPEN, Status.CLAIMED, Status.RESOLVED

TRANSITIONS: dict[Action, Transition] = {
    Action.LOCATE: Transition((_D,), _O, "locate", "located"),
    Action.CLAIM: Transition((_O,), _C, "claim", "claimed"),
    Action.RELEASE: Transition((_C,), _O, "release", "released"),
    Action.TRANSFER: Transition((_O, _C), _O, "transfer", "transferred"),
    Action.REASSIGN: Transition((_O, _C), _C, "reassign", "reassigned"),
    Action.RESOLVE: Transition((_C,), _R, "resolve", "resolved"),
    Action.CONFIRM: Transition((_R,), Status.CLOSED, "confirm", "confirmed"),
    Action.AUTO_CLOSE: Transition((_R,), Status.CLOSED, "auto-close", "closed automatically"),
    Action.VERIFY: Transition((_R,), Status.CLOSED, "verify", "verified"),
    Action.REOPEN: Transition((_R,), _O, "reopen", "reopened"),
    Action.CANCEL: Transition((_D, _O, _C, _R), Status.CANCELLED, "cancel", "cancelled"),
    Action.MERGE: Transition((_D, _O, _C, _R), Status.MERGED, "merge", "merged"),
}

RESIDENT_CANCELLABLE: tuple[Status, ...] = (_D, _O)
"""A resident may cancel only a report nobody has claimed yet; staff may cancel more (see TRANSITIONS)."""

MERGE_TARGETS: tuple[Status, ...] = (_D, _O, _C, _R)
"""A duplicate can be merged only into a ticket that is still being worked on."""


class TransitionError(ValueError):
    """An action that the ticket's current status does not allow."""

    def __init__(self, message: str, *, status: Status | None = None, action: Action | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.action = action


def _ticket(ticket_id: int | None) -> str:
    return f"ticket #{ticket_id}" if ticket_id is not None else "this ticket"


def _with_article(words: list[str]) -> str:
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    return ("an " if listed[0] in "aeiou" else "a ") + listed


def next_status(status: Status | str, action: Action | str, *, ticket_id: int | None = None) -> Status:
    """The status ``action`` leads to from ``status``; TransitionError when the move is not allowed."""
    status, action = Status(status), Action(action)
    rule = TRANSITIONS[action]
    if status not in rule.sources:
        allowed = _with_article([s.value for s in rule.sources])
        raise TransitionError(
            f"cannot {rule.verb} {_ticket(ticket_id)}: it is {status.value}; "
            f"only {allowed} ticket can be {rule.done}",
            status=status,
            action=action,
        )
    return rule.target


def allowed_actions(status: Status | str) -> list[Action]:
    """The actions the transition table permits from ``status``."""
    return [action for action, rule in TRANSITIONS.items() if Status(status) in rule.sources]


def check_merge(ticket_id: int, into_id: int, into_status: Status | str) -> None:
    """Raise TransitionError unless ``into_id`` is another ticket still being worked on."""
    if into_id == ticket_id:
        raise TransitionError(f"cannot merge ticket #{ticket_id} into itself", action=Action.MERGE)
    into = Status(into_status)
    if into not in MERGE_TARGETS:
        reason = "was itself merged" if into is Status.MERGED else f"is {into.value}"
        raise TransitionError(
            f"cannot merge ticket #{ticket_id} into ticket #{into_id}: that ticket {reason}; "
            "merge into a ticket that is still being handled",
            status=into,
            action=Action.MERGE,
        )


def is_final(status: Status | str) -> bool:
    """Whether nothing can happen to a ticket in ``status`` any more."""
    return Status(status) in FINAL_STATUSES
