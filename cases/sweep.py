"""The deadline sweep: find what is due with an indexed query and act on it, exactly once.

Every active ticket carries ``next_due_at``, the earliest moment something is pending for it
(:func:`cases.deadlines.next_due_at`). The sweep reads the due rows through the index
``(status, next_due_at)``: ``status IN ('draft','open','claimed','resolved') AND next_due_at <= now``;
its cost grows with what is due, not with the size of the table. For each due ticket it decides
every step due by ``now`` and applies them with ONE conditional update guarded by the state it read::

    UPDATE ticket SET escalation_level = :m, claim_reminders = :r, warned = :w, next_due_at = :next
    WHERE id = :id AND status = :status AND escalation_level = :k AND claim_reminders = :r0
      AND warned = :w0 AND paused_at IS NULL AND resolve_by = :rb AND claim_by = :cb ...

Only when that update changed the row does it append the events and queue the notices (the notifier
writes outbox rows in the same transaction). So two sweeps at once, a restart, or a clock jump never
repeat a step: the loser's update matches nothing. Nothing is skipped either, because a step stays
pending (``next_due_at`` in the past) until a sweep's update for it commits. On PostgreSQL the due rows
are also read ``FOR UPDATE SKIP LOCKED``, so concurrent sweeps share the work instead of queueing.

Steps:

* a draft (place unknown) older than ``defaults.locate_within`` opens in the district queue
  (target ``area:<root>``, fresh deadlines from now); event ``sent_to_district``; notice
  ``unlocated_report`` to the root's leaders and supervisors.
* nobody claimed by ``claim_by``: notice ``claim_reminder`` to the target's workers and the grid's
  leaders; repeated every claim limit while unclaimed, before ``resolve_by``, at most
  :data:`cases.deadlines.MAX_CLAIM_REMINDERS` times. Event ``claim_reminder``.
* the holder of a claimed ticket is warned at ``warn_at`` (notice ``deadline_warning``, event
  ``deadline_warning``); a warning that would arrive after ``resolve_by`` is dropped silently
  (``warned`` is set) because the escalation says more.
* past ``resolve_by`` the escalation ladder: step ``i`` is due at ``resolve_by + escalation[i].after``.
  After an outage every level now due is taken at once: one ``escalated`` event per level (so the
  history shows each), but one ``escalated`` notice per ticket and sweep, naming the highest level
  reached, sent to everyone the levels taken name. Escalation never changes the holder; resolving,
  closing or pausing stops it.
* resolved longer than ``defaults.auto_close_after``: closed (event ``auto_closed``, notice
  ``auto_closed`` to the reporter).

Run it in its own transaction/session (it updates rows with Core statements; ORM objects loaded
earlier in the same session are not refreshed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, and_, or_, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from cases.clock import as_utc
from cases.db import session_scope
from cases.deadlines import (
    auto_close_at,
    claim_reminder_at,
    deadlines_for,
    escalation_at,
    locate_at,
    next_due_at,
)
from cases.digest import Digest, DigestSent, run_digests, send_due_digests
from cases.models import Person, Role, RoleAssignment, Status, TicketEvent
from cases.models import Ticket as TicketModel
from cases.notify import Notice, Notifier
from cases.ops_texts import ops_text, sweep_detail_words, sweep_kind_words
from cases.rules.schema import Rules

T = TicketModel.__table__  # type: ignore[attr-defined]
SWEPT_STATUSES: tuple[str, ...] = (Status.DRAFT, Status.OPEN, Status.CLAIMED, Status.RESOLVED)
ACTIVE: tuple[str, ...] = (Status.OPEN, Status.CLAIMED)
BATCH_SIZE = 500
JOB_BATCH = 100
"""Due tickets a running bot's sweep handles per write transaction (about a tenth of a second of lock)."""


@dataclass(frozen=True)
class _State:
    """A snapshot of the ticket columns the sweep reads (satisfies ``cases.deadlines.Clocked``)."""

    id: int
    status: str
    category: str
    priority: str
    area: str | None
    target: str
    reporter_id: int
    text: str
    created_at: datetime
    opened_at: datetime | None
    claimed_by: int | None
    claim_by: datetime | None
    resolve_by: datetime | None
    warn_at: datetime | None
    resolved_at: datetime | None
    paused_at: datetime | None
    next_due_at: datetime | None
    escalation_level: int
    claim_reminders: int
    warned: bool

    @classmethod
    def from_row(cls, row: Row[Any]) -> _State:
        values = dict(row._mapping)
        for name, value in values.items():
            if isinstance(value, datetime):
                values[name] = as_utc(value)
        return cls(**values)


_COLUMNS = [T.c[f.name] for f in fields(_State)]


@dataclass(frozen=True)
class SweepAction:
    """One step taken (or, in a dry run, that would be taken)."""

    ticket_id: int | None
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)
    recipients: tuple[int, ...] = ()

    def describe(self, lang: str = "en") -> str:
        """One line for people in ``lang``: ``#12 escalated (level 2, notify district) -> 3 recipient(s)``."""
        who = (ops_text("sweep_to", lang, count=len(self.recipients)) if self.recipients
               else ops_text("sweep_to_nobody", lang))
        subject = f"#{self.ticket_id} " if self.ticket_id is not None else ""
        detail = sweep_detail_words(self.kind, self.detail, lang)
        return ops_text("sweep_action" if detail else "sweep_action_plain", lang, subject=subject,
                        kind=sweep_kind_words(self.kind, lang), detail=detail, who=who)


@dataclass
class SweepReport:
    """What one sweep did (or would do, when ``dry_run``)."""

    now: datetime
    dry_run: bool
    actions: list[SweepAction] = field(default_factory=list)
    examined: int = 0
    conflicts: int = 0  # due tickets another process (or user action) changed first
    more: bool = False  # stopped at ``max_batches``: more may be due

    def counts(self) -> dict[str, int]:
        """How many actions of each kind."""
        result: dict[str, int] = {}
        for action in self.actions:
            result[action.kind] = result.get(action.kind, 0) + 1
        return result

    def lines(self, lang: str = "en") -> list[str]:
        """A human-readable summary in ``lang``, one action per line."""
        summary = ops_text("list_sep", lang).join(
            ops_text("sweep_count", lang, kind=sweep_kind_words(k, lang), count=v)
            for k, v in sorted(self.counts().items()))
        head = ops_text("sweep_head_dry" if self.dry_run else "sweep_head", lang, at=f"{self.now:%Y-%m-%d %H:%M:%S}",
                        summary=summary or ops_text("sweep_nothing", lang))
        return [head, *(action.describe(lang) for action in self.actions)]



class _Sweep:
    """State of one sweep: caches of people looked up, the report, the mode."""

    def __init__(self, session: Session, rules: Rules, notifier: Notifier, now: datetime, dry_run: bool) -> None:
        self.session, self.rules, self.notifier, self.now, self.dry_run = session, rules, notifier, now, dry_run
        self.report = SweepReport(now=now, dry_run=dry_run)
        self._holders: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Person]] = {}
        self._people: dict[int, Person | None] = {}
        self.events: list[TicketEvent] = []
        self._notices: list[tuple[list[Person], Notice, TicketEvent | None]] = []

    # ---- people ----

    def holders(self, roles: Iterable[str], scopes: Iterable[str]) -> list[Person]:
        """People holding any of ``roles`` over exactly one of ``scopes`` (cached for the sweep)."""
        key = (tuple(sorted(roles)), tuple(sorted(set(scopes))))
        if key not in self._holders:
            found: list[Person] = []
            if key[0] and key[1]:
                query = (
                    select(Person)
                    .join(RoleAssignment, RoleAssignment.person_id == Person.id)  # type: ignore[arg-type]
                    .where(RoleAssignment.role.in_(key[0]), RoleAssignment.scope.in_(key[1]))  # type: ignore[attr-defined]
                    .distinct()
                    .order_by(Person.id)  # type: ignore[arg-type]
                )
                found = list(self.session.execute(query).scalars().all())
            for person in found:
                assert person.id is not None
                self._people[person.id] = person
            self._holders[key] = found
        return self._holders[key]

    def person(self, person_id: int | None) -> Person | None:
        """A person by id (cached)."""
        if person_id is None:
            return None
        if person_id not in self._people:
            self._people[person_id] = self.session.get(Person, person_id)
        return self._people[person_id]

    def preload(self, person_ids: Iterable[int | None]) -> None:
        """Load many people in one query."""
        wanted = {pid for pid in person_ids if pid is not None and pid not in self._people}
        if wanted:
            rows = self.session.execute(select(Person).where(Person.id.in_(wanted))).scalars()  # type: ignore[union-attr]
            for person in rows:
                assert person.id is not None
                self._people[person.id] = person
            for pid in wanted:
                self._people.setdefault(pid, None)

    # ---- acting ----

    def apply(self, state: _State, guard: ColumnElement[bool], values: dict[str, Any]) -> bool:
        """The conditional update; whether this sweep won the row (always True in a dry run)."""
        if self.dry_run:
            return True
        statement = update(T).where(T.c.id == state.id, guard).values(**values).returning(T.c.id)
        won = self.session.execute(statement).first() is not None
        if not won:
            self.report.conflicts += 1
        return won

    def record(
        self, state: _State, kind: str, data: dict[str, Any], *, from_status: str | None = None,
        to_status: str | None = None, public: bool = False,
    ) -> TicketEvent | None:
        """Append a ticket event (not in a dry run); the event, which gets its id at :meth:`flush_events`."""
        if self.dry_run:
            return None
        event = TicketEvent(ticket_id=state.id, at=self.now, kind=kind, data=data,
                            from_status=from_status, to_status=to_status, public=public)
        self.events.append(event)
        return event

    def tell(self, state: _State | None, kind: str, recipients: Sequence[Person], data: dict[str, Any],
             detail: dict[str, Any] | None = None, *, event: TicketEvent | None = None) -> None:
        """Queue a notice (not in a dry run) and note the action in the report.

        The notice goes out at :meth:`flush_events`, once ``event`` (what caused it) has its id: the notice's
        ``data["event_id"]`` names it, so a notifier keys the message by the event, never by counters
        that repeat when the ticket goes round again (hand-back, reopen).
        """
        unique = list({p.id: p for p in recipients}.values())
        ticket_id = state.id if state else None
        if not self.dry_run and unique:
            self._notices.append((unique, Notice(kind, ticket_id, data), event))
        self.report.actions.append(
            SweepAction(ticket_id, kind, detail if detail is not None else {},
                        tuple(p.id for p in unique if p.id is not None))
        )

    def flush_events(self) -> None:
        """Write the events gathered so far, then queue their notices (each keyed by its event's id)."""
        if self.events:
            self.session.add_all(self.events)
            self.events = []
            self.session.flush()
        notices, self._notices = self._notices, []
        for people, notice, event in notices:
            if event is not None:
                notice = Notice(notice.kind, notice.ticket_id, notice.data | {"event_id": event.id})
            self.notifier.notify(self.session, people, notice, now=self.now)


# ---- recipients ----


def _base_area(rules: Rules, state: _State) -> str:
    return rules.responsible_area(state.area, state.target)


def _notify_scopes(rules: Rules, notify: str, base: str) -> tuple[tuple[str, ...], list[str]]:
    """Roles and exact scopes one escalation target names."""
    if notify == "grid_leader":
        scopes = [a for a in (rules.ancestor_of_kind(base, "grid"), rules.ancestor_of_kind(base, "community")) if a]
        return (Role.LEADER,), scopes or [base]
    if notify == "community_leader":
        return (Role.LEADER,), [rules.ancestor_of_kind(base, "community") or base]
    if notify == "street_supervisor":
        return (Role.SUPERVISOR,), [rules.ancestor_of_kind(base, "street") or base]
    return (Role.SUPERVISOR, Role.LEADER), [rules.root]


def escalation_recipients(sweep: _Sweep, state: _State, notify: str) -> list[Person]:
    """Who an escalation step ``notify`` reaches; if nobody holds that role, the nearest managers above."""
    rules = sweep.rules
    base = _base_area(rules, state)
    roles, scopes = _notify_scopes(rules, notify, base)
    people = sweep.holders(roles, scopes)
    if people:
        return people
    above = [a for a in rules.ancestors(scopes[0])[1:]]
    for area in above:
        people = sweep.holders((Role.LEADER, Role.SUPERVISOR), [area])
        if people:
            return people
    return []


def _target_staff(sweep: _Sweep, state: _State) -> list[Person]:
    kind, _, ref = state.target.partition(":")
    if kind == "team":
        return sweep.holders((Role.WORKER, Role.LEADER), [state.target])
    if kind == "area":
        return sweep.holders((Role.WORKER, Role.LEADER, Role.SUPERVISOR), [ref])
    return sweep.holders((Role.WORKER,), [ref])


# ---- the steps ----


def _guard_eq(column: Any, value: Any) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _same_clock(state: _State) -> ColumnElement[bool]:
    """The row still has the state this sweep read (status, counters, deadlines, holder, not paused)."""
    return and_(
        T.c.status == state.status,
        T.c.escalation_level == state.escalation_level,
        T.c.claim_reminders == state.claim_reminders,
        T.c.warned == state.warned,
        T.c.paused_at.is_(None),
        _guard_eq(T.c.claim_by, state.claim_by),
        _guard_eq(T.c.resolve_by, state.resolve_by),
        _guard_eq(T.c.claimed_by, state.claimed_by),
    )


def _ticket_data(state: _State, now: datetime) -> dict[str, Any]:
    return {
        "number": f"#{state.id}",
        "category": state.category,
        "priority": state.priority,
        "area": state.area,
        "target": state.target,
        "status": state.status,
        "age_seconds": int((now - state.created_at).total_seconds()),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _refresh_next_due(sweep: _Sweep, state: _State) -> None:
    """Nothing was due after all (a stale ``next_due_at``): store the right one."""
    fresh = next_due_at(sweep.rules, state)
    if fresh == state.next_due_at or sweep.dry_run:
        return
    sweep.session.execute(
        update(T)
        .where(T.c.id == state.id, T.c.status == state.status, _guard_eq(T.c.next_due_at, state.next_due_at))
        .values(next_due_at=fresh)
    )


def _locate(sweep: _Sweep, state: _State) -> None:
    rules, now = sweep.rules, sweep.now
    if locate_at(rules, state) > now:
        return _refresh_next_due(sweep, state)
    target = f"area:{rules.root}"
    d = deadlines_for(rules, state.category, now)
    opened = replace(state, status=Status.OPEN.value, target=target, opened_at=now, claim_by=d.claim_by,
                     resolve_by=d.resolve_by, warn_at=d.warn_at, escalation_level=0, claim_reminders=0,
                     warned=False)
    values = {"status": opened.status, "target": target, "opened_at": now, "claim_by": d.claim_by,
              "resolve_by": d.resolve_by, "warn_at": d.warn_at, "escalation_level": 0, "claim_reminders": 0,
              "warned": False, "updated_at": now, "next_due_at": next_due_at(rules, opened)}
    if not sweep.apply(state, and_(T.c.status == Status.DRAFT.value), values):
        return None
    event = sweep.record(state, "sent_to_district", {"target": target, "reason": "place unknown"},
                         from_status=Status.DRAFT, to_status=Status.OPEN, public=True)
    people = sweep.holders((Role.LEADER, Role.SUPERVISOR), [rules.root])
    data = _ticket_data(opened, now) | {"text": state.text[:300], "resolve_by": _iso(d.resolve_by)}
    sweep.tell(state, "unlocated_report", people, data, {"target": target}, event=event)
    return None


def _auto_close(sweep: _Sweep, state: _State) -> None:
    rules, now = sweep.rules, sweep.now
    due = auto_close_at(rules, state)
    if due is None or due > now:
        return _refresh_next_due(sweep, state)
    guard = and_(T.c.status == Status.RESOLVED.value, _guard_eq(T.c.resolved_at, state.resolved_at))
    values = {"status": Status.CLOSED.value, "closed_at": now, "next_due_at": None, "updated_at": now}
    if not sweep.apply(state, guard, values):
        return None
    event = sweep.record(state, "auto_closed",
                         {"after_seconds": int(rules.defaults.auto_close_after.total_seconds())},
                         from_status=Status.RESOLVED, to_status=Status.CLOSED, public=True)
    reporter = sweep.person(state.reporter_id)
    data = _ticket_data(state, now) | {"status": Status.CLOSED.value, "resolved_at": _iso(state.resolved_at)}
    sweep.tell(state, "auto_closed", [reporter] if reporter else [], data, {}, event=event)
    return None


def _active(sweep: _Sweep, state: _State) -> None:
    rules, now = sweep.rules, sweep.now
    if state.paused_at is not None:
        return _refresh_next_due(sweep, state)
    # Claim reminders: every one due by now counts, one notice.
    reminders = state.claim_reminders
    if state.status == Status.OPEN:
        while (moment := claim_reminder_at(rules, state, reminders)) is not None and moment <= now:
            reminders += 1
    # The holder's warning (dropped if the deadline already passed).
    warn = state.status == Status.CLAIMED and not state.warned and state.warn_at is not None \
        and state.warn_at <= now
    warn_silently = warn and state.resolve_by is not None and state.resolve_by <= now
    # Escalation: jump to the highest level due.
    level = state.escalation_level
    while (moment := escalation_at(rules, state, level)) is not None and moment <= now:
        level += 1
    if reminders == state.claim_reminders and not warn and level == state.escalation_level:
        return _refresh_next_due(sweep, state)
    after = replace(state, claim_reminders=reminders, warned=state.warned or warn, escalation_level=level)
    values = {"claim_reminders": reminders, "warned": after.warned, "escalation_level": level,
              "next_due_at": next_due_at(rules, after)}
    if not sweep.apply(state, _same_clock(state), values):
        return None
    holder = sweep.person(state.claimed_by)
    base = _ticket_data(state, now)
    if reminders > state.claim_reminders:
        people = _target_staff(sweep, state) + escalation_recipients(sweep, state, "grid_leader")
        late = int((now - state.claim_by).total_seconds()) if state.claim_by else 0
        event = sweep.record(state, "claim_reminder",
                             {"reminder": reminders, "recipients": [p.id for p in people]})
        sweep.tell(state, "claim_reminder", people,
                   base | {"reminder": reminders, "count": reminders, "claim_by": _iso(state.claim_by),
                           "late_seconds": late},
                   {"reminder": reminders}, event=event)
    if warn and not warn_silently and holder is not None and state.resolve_by is not None:
        remaining = int((state.resolve_by - now).total_seconds())
        event = sweep.record(state, "deadline_warning", {"holder_id": holder.id, "remaining_seconds": remaining})
        sweep.tell(state, "deadline_warning", [holder],
                   base | {"resolve_by": _iso(state.resolve_by), "remaining_seconds": remaining},
                   {"remaining_seconds": remaining}, event=event)
    if level > state.escalation_level:
        _escalate(sweep, state, level, holder, base)
    return None


def _escalate(sweep: _Sweep, state: _State, level: int, holder: Person | None, base: dict[str, Any]) -> None:
    rules, now = sweep.rules, sweep.now
    assert state.resolve_by is not None
    everyone: list[Person] = []
    taken = list(range(state.escalation_level, level))
    event: TicketEvent | None = None
    for index in taken:
        step = rules.escalation[index]
        people = escalation_recipients(sweep, state, step.notify)
        everyone.extend(people)
        due = state.resolve_by + step.after
        event = sweep.record(state, "escalated", {
            "level": index + 1, "notify": step.notify, "due_at": due.isoformat(),
            "late_seconds": int((now - due).total_seconds()), "recipients": [p.id for p in people],
        })
    current = rules.escalation[level - 1]
    data = base | {
        "level": level,
        "notify": current.notify,
        "levels": [i + 1 for i in taken],
        "overdue_seconds": int((now - state.resolve_by).total_seconds()),
        "holder_id": state.claimed_by,
        "holder_name": holder.name if holder else None,
        "resolve_by": state.resolve_by.isoformat(),
    }
    sweep.tell(state, "escalated", everyone, data, {"level": level, "notify": current.notify}, event=event)


def _process(sweep: _Sweep, state: _State) -> None:
    sweep.report.examined += 1
    if state.status == Status.DRAFT:
        _locate(sweep, state)
    elif state.status == Status.RESOLVED:
        _auto_close(sweep, state)
    elif state.status in ACTIVE:
        _active(sweep, state)


def _select_states(sweep: _Sweep, condition: ColumnElement[bool], limit: int | None) -> list[_State]:
    query = select(*_COLUMNS).where(condition).order_by(T.c.next_due_at, T.c.id)
    if limit is not None:
        query = query.limit(limit)
    if not sweep.dry_run and sweep.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [_State.from_row(row) for row in sweep.session.execute(query)]


def _heal(sweep: _Sweep) -> list[_State]:
    """Tickets that must have something pending but carry no ``next_due_at``: store it; return the due."""
    condition = and_(
        T.c.next_due_at.is_(None),
        T.c.paused_at.is_(None),
        or_(
            T.c.status.in_((Status.DRAFT, Status.RESOLVED)),
            and_(T.c.status.in_(ACTIVE), T.c.escalation_level < len(sweep.rules.escalation),
                 T.c.resolve_by.is_not(None)),
        ),
    )
    due: list[_State] = []
    for state in _select_states(sweep, condition, None):
        fresh = next_due_at(sweep.rules, state)
        if fresh is not None and fresh <= sweep.now:
            due.append(state)
        else:
            _refresh_next_due(sweep, state)
    return due


def run_sweep(
    session: Session, *, rules: Rules, notifier: Notifier, now: datetime, dry_run: bool = False,
    digests: bool = True, batch_size: int = BATCH_SIZE, max_batches: int | None = None,
    seen: set[int] | None = None,
) -> SweepReport:
    """Take every step due by ``now`` (or, with ``dry_run``, only report them) and send due digests.

    The caller commits. Safe to run in several processes at once: each step happens exactly once.
    ``max_batches`` stops after that many batches of ``batch_size`` (``report.more`` then says more may be
    due); ``seen`` carries the tickets already handled from one such call to the next.
    """
    now = as_utc(now)
    sweep = _Sweep(session, rules, notifier, now, dry_run)
    seen = set() if seen is None else seen
    pending = _heal(sweep)
    due_now = and_(T.c.status.in_(SWEPT_STATUSES), T.c.next_due_at <= now)
    batches = 0
    while True:
        if max_batches is not None and batches >= max_batches:
            sweep.report.more = True
            break
        batches += 1
        batch = [s for s in pending if s.id not in seen]
        pending = []
        if not batch:
            rows = _select_states(sweep, due_now, None if dry_run else batch_size)
            batch = [s for s in rows if s.id not in seen]
            if not batch:
                break
        sweep.preload(s.claimed_by for s in batch)
        for state in batch:
            seen.add(state.id)
            _process(sweep, state)
        sweep.flush_events()
    if digests:
        sweep.report.actions += map(_digest_action, run_digests(session, rules=rules, notifier=notifier, now=now,
                                                                dry_run=dry_run))
    return sweep.report


def sweep_then_send_digests(
    engine: Engine, *, rules: Rules, notifier: Notifier, now: datetime,
    prepare: Callable[[Iterable[Digest]], None] | None = None,
) -> SweepReport:
    r"""What a running bot does periodically: the sweep, :data:`JOB_BATCH` due tickets per transaction (each
    step still happens exactly once: the guarded updates decide), then the due digests built and
    ``prepare``\ d outside the write lock and queued in short transactions
    (:func:`cases.digest.send_due_digests`). Reports arriving meanwhile wait for one batch at most."""
    report = SweepReport(now=as_utc(now), dry_run=False)
    seen: set[int] = set()
    while True:
        with session_scope(engine) as session:
            part = run_sweep(session, rules=rules, notifier=notifier, now=now, digests=False,
                             batch_size=JOB_BATCH, max_batches=1, seen=seen)
        report.actions += part.actions
        report.examined += part.examined
        report.conflicts += part.conflicts
        if not part.more:
            break
    report.actions += map(_digest_action, send_due_digests(engine, rules=rules, notifier=notifier, now=now,
                                                           prepare=prepare))
    return report


def _digest_action(sent: DigestSent) -> SweepAction:
    return SweepAction(None, "digest", {"area": sent.area, "day": sent.day.isoformat()}, (sent.person_id,))
