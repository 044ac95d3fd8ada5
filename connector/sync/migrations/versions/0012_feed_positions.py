"""Change-feed positions: where a CRM's change feed (Salesforce CDC replay id) was handled up to.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28

``connector listen`` stores the feed's position only after the sync run that handled the changes
committed, and resumes from it on start; ``updated_at`` tells whether the gap since is longer than
the feed's retention (72 hours for Salesforce), when the position is useless and an incremental
pull replaces it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"  # chained after main's head when main was merged in (was 0004)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_positions",
        sa.Column("crm", sa.String(length=64), nullable=False),
        sa.Column("feed", sa.String(length=255), nullable=False),
        sa.Column("position", sa.String(length=400), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("crm", "feed"),
    )


def downgrade() -> None:
    op.drop_table("feed_positions")
