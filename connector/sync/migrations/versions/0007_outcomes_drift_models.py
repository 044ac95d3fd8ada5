"""Outcomes from the CRM, weekly score snapshots (drift) and learned model versions.

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-28

``outcomes``: what became of a contact (a HubSpot customer or closed-won deal, a converted
Salesforce lead or won opportunity), with its date, pulled through the mapping; the KPI report and
``connector learn --crm`` read it. ``score_snapshots``: the live model's score distribution once per
ISO week (the last sync of the week wins), so drift shows week over week. ``model_versions``: models
learned from the state store, as drafts until promoted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outcomes",
        sa.Column("crm", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("crm", "contact_id", "kind", "source_id"),
    )
    op.create_table(
        "score_snapshots",
        sa.Column("crm", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=True),
        sa.Column("p10", sa.Float(), nullable=True),
        sa.Column("p50", sa.Float(), nullable=True),
        sa.Column("p90", sa.Float(), nullable=True),
        sa.Column("histogram", sa.JSON(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("crm", "model", "week"),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crm", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_model_versions_crm_model", "model_versions", ["crm", "model"])


def downgrade() -> None:
    op.drop_index("ix_model_versions_crm_model", table_name="model_versions")
    op.drop_table("model_versions")
    op.drop_table("score_snapshots")
    op.drop_table("outcomes")
