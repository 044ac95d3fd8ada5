"""A digest of each stored score (a rescoring that changes nothing writes nothing); each run's write window.

Revision ID: 0011
Revises: 0004
Create Date: 2026-11-28

The daily full rescore rescored every contact and upserted every score row although a fraction
of a percent had changed (100,000 contacts: 300,870 rows written for 197 real changes). The
digest (a hash of everything a score row holds but the instant it was computed as of) is read
with the previous state; a row whose new digest equals the stored one is not written. NULL for
rows written before this revision: they are written once more, with their digest.

``runs.pushed_from``/``pushed_until``/``as_of``: when the run's writes were sent and answered, and
the ``scored_at`` they carried, so the next contact pull can leave the CRM's echo of those writes
out (:mod:`connector.sync.echo`). NULL for runs before this revision (their echo is pulled).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("digest", sa.String(length=32), nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("pushed_from", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("pushed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("as_of", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("echo_run", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("echo_run")
        batch.drop_column("as_of")
        batch.drop_column("pushed_until")
        batch.drop_column("pushed_from")
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("digest")
