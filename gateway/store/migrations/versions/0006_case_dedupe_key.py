"""case dedupe key: one case per message (Message-ID, else content hash), enforced by the database

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("dedupe_key", sa.String(length=1000), nullable=True))
        batch.create_unique_constraint("uq_case_dedupe_key", ["dedupe_key"])


def downgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.drop_constraint("uq_case_dedupe_key", type_="unique")
        batch.drop_column("dedupe_key")
