"""The full rescore's activity scan is kept between runs (SQLite), and any change to kept activity drops it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29

``activity_scans`` holds, per CRM, the activity table read as the full rescore's columns
(:mod:`connector.sync.scankeep`), so the next rescore reads only the rows added since. Activity is
otherwise only ever added; on SQLite two triggers raise the CRM's ``epoch`` and drop its kept
columns whenever one of its activity rows is updated (a merge moving history to the surviving
contact) or deleted (a contact forgotten), whoever runs the statement. PostgreSQL gets the table
but no triggers: there the scan is not kept (rows have no insertion order that concurrent
writers respect), so nothing reads the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

#: The trigger names (:func:`connector.sync.scankeep.kept_scan` keeps a scan only where both exist).
TRIGGERS = ("activity_scans_drop_on_update", "activity_scans_drop_on_delete")

_DROP = """
CREATE TRIGGER {name} AFTER {event} ON activities
BEGIN
    INSERT INTO activity_scans (crm, epoch) VALUES (OLD.crm, 1)
    ON CONFLICT (crm) DO UPDATE SET epoch = epoch + 1, upto = NULL, upto_crm = NULL, upto_id = NULL, types = NULL, contact_ids = NULL, kinds = NULL,
        texts = NULL, contact = NULL, type = NULL, occurred = NULL, text = NULL, kept_at = NULL;
END
"""


def upgrade() -> None:
    op.create_table(
        "activity_scans",
        sa.Column("crm", sa.String(64), primary_key=True),
        sa.Column("epoch", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("upto", sa.BigInteger(), nullable=True),
        sa.Column("upto_crm", sa.String(64), nullable=True),
        sa.Column("upto_id", sa.String(255), nullable=True),
        sa.Column("types", sa.Text(), nullable=True),
        sa.Column("contact_ids", sa.Text(), nullable=True),
        sa.Column("kinds", sa.Text(), nullable=True),
        sa.Column("texts", sa.Text(), nullable=True),
        sa.Column("contact", sa.LargeBinary(), nullable=True),
        sa.Column("type", sa.LargeBinary(), nullable=True),
        sa.Column("occurred", sa.LargeBinary(), nullable=True),
        sa.Column("text", sa.LargeBinary(), nullable=True),
        sa.Column("kept_at", sa.DateTime(timezone=True), nullable=True),
    )
    if op.get_bind().dialect.name == "sqlite":
        for name, event in zip(TRIGGERS, ("UPDATE", "DELETE"), strict=True):
            op.execute(_DROP.format(name=name, event=event))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("activity_scans")
