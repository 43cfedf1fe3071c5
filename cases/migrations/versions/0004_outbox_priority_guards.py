"""Outbox priority (and the index the sender's priority-ordered pick reads), /join attempt guards, and
flood holds.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``outbox_message.priority`` (existing rows are routine, 2) with ``ix_outbox_pick``; create
    ``join_guard`` and ``flood_hold``."""
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="2"))
    with op.batch_alter_table("outbox_message") as batch:
        batch.alter_column("priority", server_default=None)
    op.create_index("ix_outbox_pick", "outbox_message", ["sent_at", "failed_at", "chat_id", "priority", "id"])
    op.create_table(
        "join_guard",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.create_table(
        "flood_hold",
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("anchor_ticket_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["reporter_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("reporter_id"),
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    op.drop_table("flood_hold")
    op.drop_table("join_guard")
    op.drop_index("ix_outbox_pick", table_name="outbox_message")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("priority")
