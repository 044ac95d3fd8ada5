"""A digest of each stored score, so a rescoring that changes nothing writes nothing.

Revision ID: 0011
Revises: 0004
Create Date: 2026-11-28

The daily full rescore rescored every contact and upserted every score row although a fraction
of a percent had changed (100,000 contacts: 300,870 rows written for 197 real changes). The
digest (a hash of everything a score row holds but the instant it was computed as of) is read
with the previous state; a row whose new digest equals the stored one is not written. NULL for
rows written before this revision: they are written once more, with their digest.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("digest", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("digest")
