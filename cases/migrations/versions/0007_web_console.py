"""The web console's one-time login links and the Open311 API keys (both stored hashed), and covering
indexes on ticket so the digest and the console read time windows instead of every ticket.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


COVERING = {
    "ix_ticket_active_cover": ["status", "area", "resolve_by", "paused_at", "escalation_level", "resolved_at",
                               "closed_at", "held"],
    "ix_ticket_created_cover": ["created_at", "area", "status"],
    "ix_ticket_closed_cover": ["closed_at", "area", "status", "resolve_by", "resolved_at", "reopen_count",
                               "paused_at", "rating", "claimed_by"],
    "ix_ticket_target_status": ["target", "status", "closed_at", "resolve_by", "resolved_at", "paused_at"],
    "ix_ticket_claimed_cover": ["claimed_at", "area", "opened_at", "created_at"],
    "ix_ticket_resolved_cover": ["resolved_at", "area", "status", "resolve_by", "opened_at", "created_at",
                                 "paused_at", "closed_at"],
}


def upgrade() -> None:
    """Create ``web_login``, ``api_key`` and the covering indexes."""
    for name, columns in COVERING.items():
        op.create_index(name, "ticket", columns)
    op.create_table(
        "web_login",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_web_login_person_id", "web_login", ["person_id"])
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("key_hash", sa.String(), nullable=False),
        sa.Column("area", sa.String(), nullable=True),
        sa.Column("per_hour", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("key_hash"),
    )


def downgrade() -> None:
    """Drop the covering indexes, ``api_key`` and ``web_login``."""
    for name in COVERING:
        op.drop_index(name, table_name="ticket")
    op.drop_table("api_key")
    op.drop_index("ix_web_login_person_id", table_name="web_login")
    op.drop_table("web_login")
