"""indexes for the per-message queries: the sender loop guard and the least-loaded assignment

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_acknowledgement_recipient_created", "acknowledgement", ["recipient", "created_at"])
    op.create_index("ix_case_queue_status_handler", "case", ["queue", "status", "handler_name"])


def downgrade() -> None:
    op.drop_index("ix_case_queue_status_handler", table_name="case")
    op.drop_index("ix_acknowledgement_recipient_created", table_name="acknowledgement")
