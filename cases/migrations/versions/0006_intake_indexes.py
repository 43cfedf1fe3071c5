"""Indexes that keep the intake's per-report queries flat as tickets accumulate.

- ``ix_ticket_same_problem`` (area, category, status, created_at): the possible-duplicate hint looks for
  the latest open or claimed ticket of the same grid and category in the last 48 hours; without it the
  query read every ticket of the grid in that state.
- ``ix_ticket_reporter_created`` (reporter_id, created_at): the flood check counts a resident's tickets
  of the last hour (and a voice note looks for their ticket of the last minutes); it replaces the index on
  ``reporter_id`` alone, which read all of a resident's tickets ever.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the two composite indexes; drop the one they make redundant."""
    op.create_index("ix_ticket_same_problem", "ticket", ["area", "category", "status", "created_at"])
    op.create_index("ix_ticket_reporter_created", "ticket", ["reporter_id", "created_at"])
    op.drop_index("ix_ticket_reporter_id", table_name="ticket")


def downgrade() -> None:
    """Back to the index on ``reporter_id`` alone."""
    op.create_index("ix_ticket_reporter_id", "ticket", ["reporter_id"])
    op.drop_index("ix_ticket_reporter_created", table_name="ticket")
    op.drop_index("ix_ticket_same_problem", table_name="ticket")
