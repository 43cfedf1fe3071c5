"""The leader lease's epoch: it grows with every takeover, and leader work checks it before committing.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``scheduler_lock.epoch`` (existing leases start at 1)."""
    with op.batch_alter_table("scheduler_lock") as batch:
        batch.add_column(sa.Column("epoch", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    """Drop ``scheduler_lock.epoch``."""
    with op.batch_alter_table("scheduler_lock") as batch:
        batch.drop_column("epoch")
