"""API keys get rights beyond predicting: the datasets they may upload to, and administration.

Keys made before keep what they could do (predict with their models) and gain nothing:
no upload right, no admin right.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:  # batch: SQLite rebuilds the table
        batch.add_column(sa.Column("uploads", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("admin", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("admin")
        batch.drop_column("uploads")
