"""The transition table: every legal move, and every illegal (status, action) pair."""

from __future__ import annotations

import itertools

import pytest

from cases.models import Status
from cases.states import (
    TRANSITIONS,
    Action,
    TransitionError,
    allowed_actions,
    check_merge,
    is_final,
    next_status,
)

D, OP, C, R = Status.DRAFT, Status.OPEN, Status.CLAIMED, Status.RESOLVED
CL, CA, M = Status.CLOSED, Status.CANCELLED, Status.MERGED

LEGAL: dict[tuple[Status, Action], Status] = {
    (D, Action.LOCATE): OP,
    (OP, Action.CLAIM): C,
    (C, Action.RELEASE): OP,
    (OP, Action.TRANSFER): OP,
    (C, Action.TRANSFER): OP,
    (OP, Action.REASSIGN): C,
    (C, Action.REASSIGN): C,
    (C, Action.RESOLVE): R,
    (R, Action.CONFIRM): CL,
    (R, Action.AUTO_CLOSE): CL,
    (R, Action.VERIFY): CL,
    (R, Action.REOPEN): OP,
    **{(s, Action.CANCEL): CA for s in (D, OP, C, R)},
    **{(s, Action.MERGE): M for s in (D, OP, C, R)},
}
ILLEGAL = [pair for pair in itertools.product(Status, Action) if pair not in LEGAL]


def test_table_is_exactly_the_specified_one() -> None:
    table = {(s, a): rule.target for a, rule in TRANSITIONS.items() for s in rule.sources}
    assert table == LEGAL


@pytest.mark.parametrize(("status", "action"), list(LEGAL), ids=lambda v: str(v))
def test_legal_moves(status: Status, action: Action) -> None:
    assert next_status(status, action) == LEGAL[(status, action)]
    assert action in allowed_actions(status)


@pytest.mark.parametrize(("status", "action"), ILLEGAL, ids=lambda v: str(v))
def test_illegal_moves_raise(status: Status, action: Action) -> None:
    with pytest.raises(TransitionError) as info:
        next_status(status, action, ticket_id=7)
    message = str(info.value)
    assert message.startswith(f"cannot {TRANSITIONS[action].verb} ticket #7: it is {status.value}; only ")
    assert info.value.status is status and info.value.action is action
    assert action not in allowed_actions(status)


def test_illegal_pairs_are_numerous() -> None:
    assert len(ILLEGAL) == len(Status) * len(Action) - len(LEGAL) == 84 - 20


def test_message_reads_naturally() -> None:
    expected = r"^cannot resolve ticket #12: it is open; only a claimed ticket can be resolved$"
    with pytest.raises(TransitionError, match=expected):
        next_status("open", "resolve", ticket_id=12)
    with pytest.raises(TransitionError, match="only an open or claimed ticket can be transferred"):
        next_status(Status.RESOLVED, Action.TRANSFER, ticket_id=1)
    with pytest.raises(TransitionError, match="only a draft, open, claimed or resolved ticket can be cancel"):
        next_status(Status.CLOSED, Action.CANCEL, ticket_id=1)


def test_final_statuses_allow_nothing() -> None:
    for status in Status:
        assert is_final(status) == (allowed_actions(status) == [])


def test_merge_checks() -> None:
    check_merge(1, 2, Status.OPEN)
    with pytest.raises(TransitionError, match="into itself"):
        check_merge(3, 3, Status.OPEN)
    with pytest.raises(TransitionError, match="was itself merged"):
        check_merge(3, 4, Status.MERGED)
    with pytest.raises(TransitionError, match="is closed"):
        check_merge(3, 4, Status.CLOSED)
