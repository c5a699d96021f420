"""initial tables

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=True),
    sa.Column('first_message_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('secondary', sa.JSON(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('queue', sa.String(length=40), nullable=False),
    sa.Column('handler_name', sa.String(length=200), nullable=False),
    sa.Column('handler_role', sa.String(length=200), nullable=False),
    sa.Column('handler_email', sa.String(length=320), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requester_name', sa.String(length=300), nullable=False),
    sa.Column('requester_email', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=998), nullable=False),
    sa.Column('acknowledge', sa.Boolean(), nullable=False),
    sa.Column('no_ack_reasons', sa.JSON(), nullable=False),
    sa.Column('acknowledge_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reply_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('first_message_id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_queue'), ['queue'], unique=False)

    op.create_table('acknowledgement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.Column('template', sa.String(length=100), nullable=False),
    sa.Column('template_version', sa.String(length=64), nullable=False),
    sa.Column('due_by', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rendered', sa.LargeBinary(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('acknowledgement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acknowledgement_state'), ['state'], unique=False)

    op.create_table('case_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_event_case_id'), ['case_id'], unique=False)

    op.create_table('forwarding_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('forwarded_to', sa.String(length=300), nullable=False),
    sa.Column('contact', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('forwarded_by', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notice_message_id', sa.String(length=250), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('forwarding_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forwarding_notice_case_id'), ['case_id'], unique=False)

    op.create_table('raw_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('mailbox', sa.String(length=320), nullable=False),
    sa.Column('envelope_from', sa.String(length=320), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duplicate_of', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('raw_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raw_message_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_raw_message_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_raw_message_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_raw_message_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_raw_message_state'), ['state'], unique=False)

    op.create_table('routing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('raw_message_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('queue', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['raw_message_id'], ['raw_message.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('raw_message_id')
    )
    with op.batch_alter_table('routing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routing_queue'), ['queue'], unique=False)
        batch_op.create_index(batch_op.f('ix_routing_state'), ['state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('routing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_state'))
        batch_op.drop_index(batch_op.f('ix_routing_queue'))
        batch_op.drop_index(batch_op.f('ix_routing_case_id'))

    op.drop_table('routing')
    with op.batch_alter_table('raw_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_message_state'))
        batch_op.drop_index(batch_op.f('ix_raw_message_received_at'))
        batch_op.drop_index(batch_op.f('ix_raw_message_message_id'))
        batch_op.drop_index(batch_op.f('ix_raw_message_content_hash'))
        batch_op.drop_index(batch_op.f('ix_raw_message_case_id'))

    op.drop_table('raw_message')
    with op.batch_alter_table('forwarding_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_forwarding_notice_case_id'))

    op.drop_table('forwarding_notice')
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_event_case_id'))

    op.drop_table('case_event')
    with op.batch_alter_table('acknowledgement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acknowledgement_state'))

    op.drop_table('acknowledgement')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_queue'))

    op.drop_table('case')
