"""Real time: events accepted by ``connector serve`` and the API keys of ``POST /events``.

Revision ID: 0008
Revises: 0004
Create Date: 2026-11-28

Every webhook event and first-party activity is stored before the request is answered, unique per
CRM, source and event id (at-least-once senders deliver twice); workers process them in order of
occurrence. API keys are kept as SHA-256 hashes only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "realtime_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crm", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("event_key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.String(length=128), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("crm", "source", "event_key", name="uq_realtime_events_key"),
    )
    op.create_index("ix_realtime_events_crm_status", "realtime_events", ["crm", "status", "occurred_at"])
    op.create_index("ix_realtime_events_crm_contact", "realtime_events", ["crm", "contact_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("crm", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("rate_per_minute", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_index("ix_realtime_events_crm_contact", table_name="realtime_events")
    op.drop_index("ix_realtime_events_crm_status", table_name="realtime_events")
    op.drop_table("realtime_events")
