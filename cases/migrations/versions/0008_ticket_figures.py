"""Per-day ticket figures and open counts kept by triggers (``ticket_figures``, ``ticket_now``,
``figure_day``; :mod:`cases.figures`) and a partial index of the escalated tickets, so the console's overview
and map and the digest read day rows instead of every ticket of their windows; and the ticket's Open311
``media_url`` and attribute answers (:mod:`cases.georeport`).

The figures are built here for the time zone the caller passes (``config.attributes["timezone"]``) or the
rules' default; a process whose rules name another zone rebuilds them once (:func:`cases.figures.ensure`),
and until then readers compute from the tickets as before.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from cases import figures
from cases.rules.schema import Rules

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables and triggers, and build the figures of the tickets there are."""
    op.create_table(
        "figure_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("zone", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
        sa.UniqueConstraint("starts_at"),
    )
    op.create_table(
        "ticket_figures",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("worker", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in figures.COUNTERS),
        sa.PrimaryKeyConstraint("day", "area", "category", "worker"),
    )
    op.create_table(
        "ticket_now",
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in figures.NOW_COUNTERS),
        sa.PrimaryKeyConstraint("area", "category"),
    )
    op.create_index("ix_ticket_escalated", "ticket", ["status", "area", "escalation_level"],
                    sqlite_where=sa.text("escalation_level > 0"), postgresql_where=sa.text("escalation_level > 0"))
    op.add_column("ticket", sa.Column("media_url", sa.String(), nullable=True))
    op.add_column("ticket", sa.Column("service_attributes", sa.JSON(), nullable=True))
    bind = op.get_bind()
    figures.create_triggers(bind)
    zone = context.config.attributes.get("timezone") or Rules.model_fields["timezone"].default
    figures.rebuild(bind, zone)


def downgrade() -> None:
    """Drop the triggers and the tables."""
    figures.drop_triggers(op.get_bind())
    op.drop_column("ticket", "service_attributes")
    op.drop_column("ticket", "media_url")
    op.drop_index("ix_ticket_escalated", table_name="ticket")
    op.drop_table("ticket_now")
    op.drop_table("ticket_figures")
    op.drop_table("figure_day")
