"""The contact's owner, pulled with it, for the tasks of triggers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

``create_task`` actions go to the contact's owner. Reading the owner from the CRM per task cost a
call per task; the owner now comes with the pulled contact and is kept here (NULL for contacts
pulled before this revision, until they are pulled again: their tasks go to the mapping's default
owner meanwhile).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("owner_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("owner_id")
