"""Initial state store.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

The first schema: pulled records, cursors, scores, written values, outbox, quarantine,
trigger firings and actions, stage history, runs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activities',
    sa.Column('crm', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('contact_id', sa.String(length=128), nullable=True),
    sa.Column('anonymous_id', sa.String(length=400), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('pulled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('crm', 'id')
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activities_anonymous_id'), ['anonymous_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_contact_id'), ['contact_id'], unique=False)

    op.create_table('contacts',
    sa.Column('crm', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('properties', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pulled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('needs_score', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('crm', 'id')
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_needs_score'), ['needs_score'], unique=False)

    op.create_table('cursors',
    sa.Column('crm', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('value', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('crm', 'stream')
    )
    op.create_table('identities',
    sa.Column('crm', sa.String(length=64), nullable=False),
    sa.Column('anonymous_id', sa.String(length=400), nullable=False),
    sa.Column('contact_id', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('crm', 'anonymous_id')
    )
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identities_contact_id'), ['contact_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crm', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.String(length=128), nullable=False),
    sa.Column('values', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=2000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_outbox_crm_status', ['crm', 'status', 'id'], unique=False)

    op.create_table('quarantine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crm', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_crm'), ['crm'], unique=False)

    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crm', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('pulled_contacts', sa.Integer(), nullable=False),
    sa.Column('pulled_activities', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('scored', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('written', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('quarantined', sa.Integer(), nullable=False),
    sa.Column('actions', sa.Integer(), nullable=False),
    sa.Column('api_calls', sa.Integer(), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('rate_limited', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=2000), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_crm'), ['crm'], unique=False)

    op.create_table('scores',
    sa.Column('crm', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.String(length=128), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('dimensions', sa.JSON(), nullable=True),
    sa.Column('grade', sa.String(length=64), nullable=True),
    sa.Column('matrix', sa.String(length=64), nullable=True),
    sa.Column('stage', sa.String(length=128), nullable=True),
    sa.Column('excluded', sa.String(length=500), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=True),
    sa.Column('state', sa.JSON(), nullable=True),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changes_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('crm', 'contact_id', 'model')
    )
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scores_changes_at'), ['changes_at'], unique=False)

    op.create_table('stage_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crm', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.String(length=128), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('from_stage', sa.String(length=128), nullable=True),
    sa.Column('to_stage', sa.String(length=128), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stage_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_history_contact_id'), ['contact_id'], unique=False)

    op.create_table('trigger_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=620), nullable=False),
    sa.Column('firing_id', sa.Integer(), nullable=False),
    sa.Column('crm', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.String(length=128), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=255), nullable=True),
    sa.Column('last_error', sa.String(length=2000), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('trigger_actions', schema=None) as batch_op:
        batch_op.create_index('ix_trigger_actions_crm_status', ['crm', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_trigger_actions_firing_id'), ['firing_id'], unique=False)

    op.create_table('trigger_firings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=600), nullable=False),
    sa.Column('crm', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.String(length=128), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('trigger', sa.String(length=128), nullable=False),
    sa.Column('watched', sa.String(length=128), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('trigger_firings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trigger_firings_contact_id'), ['contact_id'], unique=False)

    op.create_table('written_values',
    sa.Column('crm', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.String(length=128), nullable=False),
    sa.Column('field', sa.String(length=255), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('crm', 'contact_id', 'field')
    )


def downgrade() -> None:
    op.drop_table('written_values')
    with op.batch_alter_table('trigger_firings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trigger_firings_contact_id'))

    op.drop_table('trigger_firings')
    with op.batch_alter_table('trigger_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trigger_actions_firing_id'))
        batch_op.drop_index('ix_trigger_actions_crm_status')

    op.drop_table('trigger_actions')
    with op.batch_alter_table('stage_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stage_history_contact_id'))

    op.drop_table('stage_history')
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scores_changes_at'))

    op.drop_table('scores')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_crm'))

    op.drop_table('runs')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantine_crm'))

    op.drop_table('quarantine')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_crm_status')
        batch_op.drop_index(batch_op.f('ix_outbox_contact_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identities_contact_id'))

    op.drop_table('identities')
    op.drop_table('cursors')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_needs_score'))
        batch_op.drop_index(batch_op.f('ix_contacts_email'))

    op.drop_table('contacts')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activities_contact_id'))
        batch_op.drop_index(batch_op.f('ix_activities_anonymous_id'))

    op.drop_table('activities')
