"""Database tables (SQLModel). Times are stored as UTC; SQLite returns them naive, see ``clock.as_utc``.

Schema changes go through Alembic migrations in ``cases/migrations``; keep both in step.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class Status(StrEnum):
    """Ticket statuses. ``draft`` waits for the resident to say where; it is dispatched once located."""

    DRAFT = "draft"
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    MERGED = "merged"


ACTIVE_STATUSES: tuple[Status, ...] = (Status.OPEN, Status.CLAIMED)
FINAL_STATUSES: tuple[Status, ...] = (Status.CLOSED, Status.CANCELLED, Status.MERGED)


class Role(StrEnum):
    """Staff roles, each scoped to an area (or a team as ``team:<id>``)."""

    WORKER = "worker"
    LEADER = "leader"
    SUPERVISOR = "supervisor"
    INSPECTOR = "inspector"


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


class Person(SQLModel, table=True):
    """Anyone who talks to the bot: residents and staff alike."""

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    name: str = ""
    username: str | None = None
    language: str = "zh"
    home_area: str | None = None
    unreachable: bool = False
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class RoleAssignment(SQLModel, table=True):
    """A person holds ``role`` over ``scope`` (an area id, or ``team:<id>``)."""

    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("person_id", "role", "scope"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str
    scope: str = Field(index=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Invite(SQLModel, table=True):
    """A one-time invite code (stored only as a hash) granting a role over a scope."""

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(unique=True)
    role: str
    scope: str
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_by: int | None = Field(default=None, foreign_key="person.id")
    used_at: datetime | None = _ts()


class Ticket(SQLModel, table=True):
    """A resident's report and everything needed to handle it. History lives in TicketEvent."""

    __table_args__ = (
        UniqueConstraint("chat_id", "source_message_id", name="uq_ticket_source"),
        Index("ix_ticket_status_claim_by", "status", "claim_by"),
        Index("ix_ticket_status_resolve_by", "status", "resolve_by"),
        Index("ix_ticket_status_next_due", "status", "next_due_at"),
        Index("ix_ticket_area_status", "area", "status"),
        Index("ix_ticket_same_problem", "area", "category", "status", "created_at"),  # possible duplicate
        Index("ix_ticket_reporter_created", "reporter_id", "created_at"),  # flood check
        # Covering indexes for the digest and the console (migration 0007): each figure reads a time window
        # or the active statuses from index entries only (cases/digest_figures.py).
        Index("ix_ticket_active_cover", "status", "area", "resolve_by", "paused_at", "escalation_level",
              "resolved_at", "closed_at", "held"),
        Index("ix_ticket_created_cover", "created_at", "area", "status"),
        Index("ix_ticket_closed_cover", "closed_at", "area", "status", "resolve_by", "resolved_at",
              "reopen_count", "paused_at", "rating", "claimed_by"),
        Index("ix_ticket_target_status", "target", "status", "closed_at", "resolve_by", "resolved_at", "paused_at"),
        Index("ix_ticket_claimed_cover", "claimed_at", "area", "opened_at", "created_at"),
        Index("ix_ticket_resolved_cover", "resolved_at", "area", "status", "resolve_by", "opened_at",
              "created_at", "paused_at", "closed_at"),
        # escalated tickets only (migration 0008): the console's and digest's highest level now
        Index("ix_ticket_escalated", "status", "area", "escalation_level", sqlite_where=text("escalation_level > 0"),
              postgresql_where=text("escalation_level > 0")),
    )

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=Status.OPEN.value, max_length=16)
    category: str
    priority: str = "normal"
    area: str | None = Field(default=None, description="grid the place falls in (None while unknown)")
    target: str = Field(default="", description="grid:<id> or team:<id> whose workers handle it")
    route_index: int | None = None
    explanation: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reporter_id: int = Field(foreign_key="person.id")  # indexed by ix_ticket_reporter_created
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    source_message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    photo_file_id: str | None = None
    voice_file_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    opened_at: datetime | None = _ts()
    claimed_by: int | None = Field(default=None, foreign_key="person.id", index=True)
    claimed_at: datetime | None = _ts()
    resolved_at: datetime | None = _ts()
    closed_at: datetime | None = _ts()
    claim_by: datetime | None = _ts()
    resolve_by: datetime | None = _ts()
    warn_at: datetime | None = _ts()
    next_due_at: datetime | None = _ts()
    escalation_level: int = 0
    claim_reminders: int = 0
    warned: bool = False
    paused_at: datetime | None = _ts()
    pause_reason: str | None = None
    reopen_count: int = 0
    rating: int | None = None
    merged_into: int | None = Field(default=None, foreign_key="ticket.id")
    held: bool = False
    # an Open311 POST's media_url and attribute answers (migration 0008); never in a GET but media_url
    media_url: str | None = None
    service_attributes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))

    @property
    def number(self) -> str:
        """The human-readable ticket number, e.g. ``#1024``."""
        return f"#{self.id}"


class TicketEvent(SQLModel, table=True):
    """One entry of a ticket's append-only history. Never updated or deleted."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    kind: str
    from_status: str | None = None
    to_status: str | None = None
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    public: bool = True
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class GroupBinding(SQLModel, table=True):
    """A Telegram group chat bound to a grid: its new tickets are posted there too."""

    __tablename__ = "group_binding"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    area: str = Field(index=True)
    bound_by: int = Field(foreign_key="person.id")
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class InboxUpdate(SQLModel, table=True):
    """A Telegram update persisted before it is acknowledged; processed in order per chat."""

    __tablename__ = "inbox_update"
    __table_args__ = (Index("ix_inbox_pending", "processed_at", "update_id"),)

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, index=True))
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    processed_at: datetime | None = _ts()
    attempts: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class OutboxMessage(SQLModel, table=True):
    """A Bot API call the bot must make, kept until Telegram accepted it (or it can never be sent)."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_pending", "sent_at", "failed_at", "not_before"),
        Index("ix_outbox_pick", "sent_at", "failed_at", "chat_id", "priority", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    method: str = "sendMessage"
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    purpose: str = ""
    ticket_id: int | None = Field(default=None, index=True)
    dedupe_key: str | None = Field(default=None, unique=True)
    priority: int = Field(default=2, description="0 emergency, 1 claims/escalations, 2 routine, 3 bulk")
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    not_before: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    attempts: int = 0
    sent_at: datetime | None = _ts()
    failed_at: datetime | None = _ts()
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    result_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class JoinGuard(SQLModel, table=True):
    """Wrong ``/join`` codes per chat: after a few the chat is locked out until ``locked_until``."""

    __tablename__ = "join_guard"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    failures: int = 0
    first_failed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    locked_until: datetime | None = _ts()


class FloodHold(SQLModel, table=True):
    """A resident's current hold (too many reports): leaders are told once per hold, with the count."""

    __tablename__ = "flood_hold"

    reporter_id: int = Field(foreign_key="person.id", primary_key=True)
    anchor_ticket_id: int = Field(description="the hold's first held ticket; its notices carry the count")
    count: int = 0
    started_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ChatState(SQLModel, table=True):
    """What the bot is waiting for in a private chat (a home place, a note text, a resolve note...)."""

    __tablename__ = "chat_state"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    awaiting: str
    ticket_id: int | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class DigestLog(SQLModel, table=True):
    """At most one digest per person per local day."""

    __tablename__ = "digest_log"
    __table_args__ = (UniqueConstraint("person_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id")
    day: date
    area: str
    sent_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SchedulerLock(SQLModel, table=True):
    """The leader lease (:mod:`cases.leader`); ``epoch`` grows with every takeover and fences leader work."""

    __tablename__ = "scheduler_lock"

    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    epoch: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))


class JobRun(SQLModel, table=True):
    """The last run of each periodic job (sweep, retention), for ``gridbot status``."""

    __tablename__ = "job_run"

    name: str = Field(primary_key=True)
    interval_seconds: float
    holder: str
    last_started_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_finished_at: datetime | None = _ts()
    last_ok_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    runs: int = 0
    failures: int = 0


class WebLogin(SQLModel, table=True):
    """A one-time console login link (only its hash is kept); single use, short-lived."""

    __tablename__ = "web_login"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = _ts()


class ApiKey(SQLModel, table=True):
    """An Open311 client's key (only its hash is kept), scoped to an area, revocable."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    key_hash: str = Field(unique=True)
    area: str | None = None
    per_hour: int = 60
    person_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = _ts()


__all__ = [
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "ApiKey",
    "ChatState",
    "DigestLog",
    "FigureDay",
    "FloodHold",
    "GroupBinding",
    "InboxUpdate",
    "Invite",
    "JobRun",
    "JoinGuard",
    "OutboxMessage",
    "Person",
    "Role",
    "RoleAssignment",
    "SchedulerLock",
    "Status",
    "Ticket",
    "TicketEvent",
    "TicketFigures",
    "TicketNow",
    "WebLogin",
]


class RoutingExample(SQLModel, table=True):
    """A labelled example learned from the district: a staff recategorisation or a resident's category pick.

    ``gridbot routing retrain`` trains on these together with the bundled examples.
    """

    __tablename__ = "routing_example"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    category: str
    emergency: bool = False
    source: str = Field(description="'staff' (a recategorisation) or 'resident' (a pick from the buttons)")
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class FigureDay(SQLModel, table=True):
    """The calendar :class:`TicketFigures` is kept by: each local day of ``zone`` and the UTC moment it
    begins (every row carries the same zone; :mod:`cases.figures` rebuilds both when the rules' zone changes)."""

    __tablename__ = "figure_day"

    day: date = Field(primary_key=True)
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, unique=True))
    zone: str


class TicketFigures(SQLModel, table=True):
    """Per local day, grid (``''``: none yet), category and worker (0: nobody, and every count but those of
    closed tickets): the tickets created that day (merged ones left out), those closed that day with how many
    were on time, reworked, rated and rated 4 or 5, and the late ones falling due and done that day (the
    overdue trend). Kept by database triggers in the transaction that changes a ticket
    (migration 0008); :func:`cases.figures.rebuild` recomputes it from the tickets."""

    __tablename__ = "ticket_figures"

    day: date = Field(primary_key=True)
    area: str = Field(primary_key=True)
    category: str = Field(primary_key=True)
    worker: int = Field(default=0, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    # the rest are counts (cases.figures says what each counts)
    new: int = 0
    closed: int = 0
    on_time: int = 0
    reworked: int = 0
    rated: int = 0
    satisfied: int = 0
    late_due: int = 0
    late_done: int = 0


class TicketNow(SQLModel, table=True):
    """Per grid (``''``: none yet) and category, the tickets open or claimed now, the open ones held for a
    leader's review, and the open or claimed ones not paused, with a deadline and not done (the overdue trend's
    base). Kept by the same triggers as :class:`TicketFigures` (migration 0008)."""

    __tablename__ = "ticket_now"

    area: str = Field(primary_key=True)
    category: str = Field(primary_key=True)
    open: int = 0
    held: int = 0
    late_open: int = 0
