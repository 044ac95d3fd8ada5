"""Per-CRM composite indexes for the pipeline's lookups.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Every lookup filters on the CRM first (``crm = ? AND contact_id IN (...)``); single-column
indexes left the database choosing the primary key's ``crm`` prefix and scanning every activity
of the CRM per chunk. Composite indexes make loading a chunk for scoring proportional to the
chunk, not to the store.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_REPLACED = [
    ("contacts", "ix_contacts_email", "ix_contacts_crm_email", ["crm", "email"]),
    ("contacts", "ix_contacts_needs_score", "ix_contacts_crm_needs_score", ["crm", "needs_score"]),
    ("activities", "ix_activities_contact_id", "ix_activities_crm_contact", ["crm", "contact_id"]),
    ("activities", "ix_activities_anonymous_id", "ix_activities_crm_anonymous", ["crm", "anonymous_id"]),
    ("identities", "ix_identities_contact_id", "ix_identities_crm_contact", ["crm", "contact_id"]),
    ("scores", "ix_scores_changes_at", "ix_scores_crm_changes_at", ["crm", "changes_at"]),
    ("outbox", "ix_outbox_contact_id", "ix_outbox_crm_contact", ["crm", "contact_id", "status"]),
]


def upgrade() -> None:
    for table, old, new, columns in _REPLACED:
        op.drop_index(old, table_name=table)
        op.create_index(new, table, columns)


def downgrade() -> None:
    for table, old, new, columns in _REPLACED:
        op.drop_index(new, table_name=table)
        op.create_index(old, table, [columns[-1] if table != "outbox" else "contact_id"])
