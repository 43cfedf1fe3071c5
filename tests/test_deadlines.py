"""deadlines_for in wall-clock and working time, and the next moment the sweep must act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cases.deadlines import (
    MAX_CLAIM_REMINDERS,
    claim_reminder_at,
    deadlines_for,
    next_due_at,
    shift_by_pause,
)
from cases.models import Ticket
from cases.rules.schema import Rules

SH = ZoneInfo("Asia/Shanghai")


def make_rules(**overrides: Any) -> Rules:
    data: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "defaults": {"resolve_within": "24h", "claim_within": "2h", "warn_at": 0.75},
        "working_hours": {"holidays": ["2025-04-04"]},
        "categories": {
            "other": {"name": {"zh": "其他", "en": "Other"}},
            "road": {"name": {"zh": "道路", "en": "Road"}, "resolve_within": "8 working hours",
                     "claim_within": "1 working hours"},
            "permit": {"name": {"zh": "许可", "en": "Permit"}, "resolve_within": "2 working days"},
        },
        "areas": {"d": {"kind": "district", "children": ["s"]}, "s": {"kind": "street", "children": ["c"]},
                  "c": {"kind": "community", "children": ["g"]}, "g": {"kind": "grid", "places": ["x"]}},
    }
    data.update(overrides)
    return Rules.model_validate(data)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH).astimezone(UTC)  # type: ignore[arg-type, misc]


def test_wall_clock_deadlines() -> None:
    rules = make_rules()
    start = sh(2025, 3, 8, 22)  # Saturday night: wall-clock limits ignore working hours
    d = deadlines_for(rules, "other", start)
    assert d.claim_by == start + timedelta(hours=2)
    assert d.resolve_by == start + timedelta(hours=24)
    assert d.warn_at == start + timedelta(hours=18)


def test_working_hours_deadlines_over_weekend() -> None:
    rules = make_rules()
    d = deadlines_for(rules, "road", sh(2025, 3, 7, 15))  # Friday 15:00: 3h Friday, 5h Monday
    assert d.resolve_by == sh(2025, 3, 10, 14)
    assert d.claim_by == sh(2025, 3, 7, 16)
    assert d.warn_at == sh(2025, 3, 10, 12)  # 6 working hours in


def test_working_days_deadline_skips_holiday() -> None:
    rules = make_rules()
    d = deadlines_for(rules, "permit", sh(2025, 4, 3, 10))  # Thursday; Friday 4 April is a holiday
    assert d.resolve_by == sh(2025, 4, 8, 10)


def test_deadlines_accept_local_times() -> None:
    rules = make_rules()
    local_start = datetime(2025, 3, 3, 10, tzinfo=SH)
    assert deadlines_for(rules, "other", local_start) == deadlines_for(rules, "other", local_start.astimezone(UTC))


def test_shift_by_pause_working_time() -> None:
    rules = make_rules()
    limit = rules.resolve_limit("road")
    # Paused Friday 17:00 to Monday 10:00: 2 working hours; a Monday-14:00 deadline moves to 16:00.
    moved = shift_by_pause(rules, sh(2025, 3, 10, 14), limit, sh(2025, 3, 7, 17), sh(2025, 3, 10, 10))
    assert moved == sh(2025, 3, 10, 16)
    wall = shift_by_pause(rules, sh(2025, 3, 10, 14), rules.resolve_limit("other"), sh(2025, 3, 7, 17),
                          sh(2025, 3, 10, 10))
    assert wall == sh(2025, 3, 10, 14) + timedelta(days=2, hours=17)


def ticket(rules: Rules, status: str, start: datetime, **kw: Any) -> Ticket:
    d = deadlines_for(rules, "other", start)
    return Ticket(status=status, category="other", reporter_id=1, chat_id=1, source_message_id=1,
                  created_at=start, updated_at=start, opened_at=start,
                  claim_by=d.claim_by, resolve_by=d.resolve_by, warn_at=d.warn_at, **kw)


def test_next_due_follows_the_ticket_state() -> None:
    rules = make_rules()
    start = sh(2025, 3, 3, 9)
    t = ticket(rules, "open", start)
    assert next_due_at(rules, t) == t.claim_by
    t.claim_reminders = 1
    assert next_due_at(rules, t) == start + timedelta(hours=4)  # the next reminder, one claim period on
    t.claim_reminders = MAX_CLAIM_REMINDERS
    assert next_due_at(rules, t) == t.resolve_by  # escalation step 0 (after 0h)
    t.status, t.claimed_by = "claimed", 5
    assert next_due_at(rules, t) == t.warn_at
    t.warned = True
    assert next_due_at(rules, t) == t.resolve_by
    t.escalation_level = 1
    assert next_due_at(rules, t) == t.resolve_by + rules.escalation[1].after  # type: ignore[operator]
    t.escalation_level = len(rules.escalation)
    assert next_due_at(rules, t) is None
    t.escalation_level, t.paused_at = 0, start
    assert next_due_at(rules, t) is None  # paused: the clock is stopped
    t.paused_at, t.status, t.resolved_at = None, "resolved", start + timedelta(hours=3)
    assert next_due_at(rules, t) == start + timedelta(hours=3) + rules.defaults.auto_close_after
    t.status = "closed"
    assert next_due_at(rules, t) is None
    draft = ticket(rules, "draft", start)
    assert next_due_at(rules, draft) == start + rules.defaults.locate_within


def test_reminders_stop_at_the_resolve_deadline() -> None:
    rules = make_rules(defaults={"resolve_within": "3h", "claim_within": "2h"})
    t = ticket(rules, "open", sh(2025, 3, 3, 9))
    assert claim_reminder_at(rules, t, 0) == t.claim_by
    assert claim_reminder_at(rules, t, 1) is None  # 4h would be past the 3h resolve deadline
