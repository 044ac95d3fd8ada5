"""How many contacts a run retired: those the CRM deleted, merged or converted.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28

The sync counted them (``RunSummary.retired``) but the ``runs`` table had no column, so ``connector
status`` could not say that a run moved people's history to their successors. Existing runs read 0.
(Chained on 0012, main's head when this branch last merged main.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("retired", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("retired")
