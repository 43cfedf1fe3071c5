"""Initial schema: every table and index of cases/models.py, and the append-only ticket history.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


_APPEND_ONLY = "ticket_event is append-only: history is never updated or deleted"


def _create_append_only_triggers() -> None:
    """Refuse UPDATE and DELETE on ticket_event inside the database itself."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ticket_event_no_{verb.lower()} BEFORE {verb} ON ticket_event "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION ticket_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{_APPEND_ONLY}' USING ERRCODE = 'restrict_violation'; END $$"
    )
    op.execute(
        "CREATE TRIGGER ticket_event_append_only BEFORE UPDATE OR DELETE ON ticket_event "
        "FOR EACH ROW EXECUTE FUNCTION ticket_event_append_only()"
    )
    op.execute(
        "CREATE TRIGGER ticket_event_no_truncate BEFORE TRUNCATE ON ticket_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION ticket_event_append_only()"
    )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ticket_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS ticket_event_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS ticket_event_no_truncate ON ticket_event")
    op.execute("DROP TRIGGER IF EXISTS ticket_event_append_only ON ticket_event")
    op.execute("DROP FUNCTION IF EXISTS ticket_event_append_only()")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "chat_state",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("awaiting", sa.String(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.create_table(
        "inbox_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.create_index("ix_inbox_pending", "inbox_update", ["processed_at", "update_id"])
    op.create_index(op.f("ix_inbox_update_chat_id"), "inbox_update", ["chat_id"])

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result_message_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index(op.f("ix_outbox_message_chat_id"), "outbox_message", ["chat_id"])
    op.create_index(op.f("ix_outbox_message_ticket_id"), "outbox_message", ["ticket_id"])
    op.create_index("ix_outbox_pending", "outbox_message", ["sent_at", "failed_at", "not_before"])

    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("username", sa.String(), nullable=True),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("home_area", sa.String(), nullable=True),
        sa.Column("unreachable", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("telegram_id"),
    )
    op.create_table(
        "scheduler_lock",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "digest_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "day"),
    )
    op.create_table(
        "group_binding",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("bound_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bound_by"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.create_index(op.f("ix_group_binding_area"), "group_binding", ["area"])

    op.create_table(
        "invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["used_by"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_table(
        "role_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "role", "scope"),
    )
    op.create_index(op.f("ix_role_assignment_person_id"), "role_assignment", ["person_id"])
    op.create_index(op.f("ix_role_assignment_scope"), "role_assignment", ["scope"])

    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("area", sa.String(), nullable=True),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("route_index", sa.Integer(), nullable=True),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("source_message_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo_file_id", sa.String(), nullable=True),
        sa.Column("voice_file_id", sa.String(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolve_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("claim_reminders", sa.Integer(), nullable=False),
        sa.Column("warned", sa.Boolean(), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pause_reason", sa.String(), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claimed_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merged_into"],
            ["ticket.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "source_message_id", name="uq_ticket_source"),
    )
    op.create_index("ix_ticket_area_status", "ticket", ["area", "status"])
    op.create_index(op.f("ix_ticket_claimed_by"), "ticket", ["claimed_by"])
    op.create_index(op.f("ix_ticket_created_at"), "ticket", ["created_at"])
    op.create_index(op.f("ix_ticket_reporter_id"), "ticket", ["reporter_id"])
    op.create_index("ix_ticket_status_claim_by", "ticket", ["status", "claim_by"])
    op.create_index("ix_ticket_status_next_due", "ticket", ["status", "next_due_at"])
    op.create_index("ix_ticket_status_resolve_by", "ticket", ["status", "resolve_by"])

    op.create_table(
        "ticket_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("from_status", sa.String(), nullable=True),
        sa.Column("to_status", sa.String(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_ticket_event_at"), "ticket_event", ["at"])
    op.create_index(op.f("ix_ticket_event_ticket_id"), "ticket_event", ["ticket_id"])
    _create_append_only_triggers()


def downgrade() -> None:
    """Undo this revision."""
    _drop_append_only_triggers()
    op.drop_index(op.f("ix_ticket_event_ticket_id"), table_name="ticket_event")
    op.drop_index(op.f("ix_ticket_event_at"), table_name="ticket_event")

    op.drop_table("ticket_event")
    op.drop_index("ix_ticket_status_resolve_by", table_name="ticket")
    op.drop_index("ix_ticket_status_next_due", table_name="ticket")
    op.drop_index("ix_ticket_status_claim_by", table_name="ticket")
    op.drop_index(op.f("ix_ticket_reporter_id"), table_name="ticket")
    op.drop_index(op.f("ix_ticket_created_at"), table_name="ticket")
    op.drop_index(op.f("ix_ticket_claimed_by"), table_name="ticket")
    op.drop_index("ix_ticket_area_status", table_name="ticket")

    op.drop_table("ticket")
    op.drop_index(op.f("ix_role_assignment_scope"), table_name="role_assignment")
    op.drop_index(op.f("ix_role_assignment_person_id"), table_name="role_assignment")

    op.drop_table("role_assignment")
    op.drop_table("invite")
    op.drop_index(op.f("ix_group_binding_area"), table_name="group_binding")

    op.drop_table("group_binding")
    op.drop_table("digest_log")
    op.drop_table("scheduler_lock")
    op.drop_table("person")
    op.drop_index("ix_outbox_pending", table_name="outbox_message")
    op.drop_index(op.f("ix_outbox_message_ticket_id"), table_name="outbox_message")
    op.drop_index(op.f("ix_outbox_message_chat_id"), table_name="outbox_message")

    op.drop_table("outbox_message")
    op.drop_index(op.f("ix_inbox_update_chat_id"), table_name="inbox_update")
    op.drop_index("ix_inbox_pending", table_name="inbox_update")

    op.drop_table("inbox_update")
    op.drop_table("chat_state")
