"""Manual adjustments, the CRM's own stage dates, and why a stage changed.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-28

- ``adjustments``: points given or taken by hand (``connector adjust``), with who, when, why and
  until when; apart from ``contacts`` so a re-pull never loses one.
- ``contacts.stage_dates``: model stage -> the instant the CRM says the contact entered it
  (HubSpot's ``hs_lifecyclestage_<stage>_date``, through the mapping); the first scoring seeds the
  stage history from it, so ``reset_on_enter`` does not wipe existing MQLs.
- ``stage_history.reason``: why a contact moved (NULL for moves recorded before this revision).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crm", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("dimension", sa.String(length=128), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("by", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_adjustments_crm_contact", "adjustments", ["crm", "contact_id"])
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("stage_dates", sa.JSON(), nullable=True))
    with op.batch_alter_table("stage_history") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stage_history") as batch:
        batch.drop_column("reason")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("stage_dates")
    op.drop_index("ix_adjustments_crm_contact", table_name="adjustments")
    op.drop_table("adjustments")
