"""Scores remember their fingerprint, so the full rescore can leave unchanged contacts alone.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28

``scores.fingerprint`` is the digest of the result columns the batch scorer produced for the row
(:mod:`connector.scoring.batch.fingerprint`). Existing rows read NULL: their contacts go through
the full scoring once, at the next full rescore, which stores their fingerprints.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("fingerprint")
