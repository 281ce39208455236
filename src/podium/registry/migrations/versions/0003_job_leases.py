"""Jobs with leases; the dataset in a job's trigger key; promotions recorded before registering.

A job is claimed by one watcher (``owner``) and held with a lease it renews
(``lease_until``); ``attempts`` counts its claims. The trigger key gains the dataset, so
re-binding a pipeline to another dataset queues that dataset's versions too. Existing jobs
take the dataset their pipeline is bound to now. ``promotions`` keeps each champion/challenger
decision from before its challenger is registered until it is completed.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_jobs") as batch:
        batch.add_column(sa.Column("dataset", sa.String(200), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(200), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE pipeline_jobs SET dataset = (SELECT b.dataset FROM pipeline_bindings b "
               "WHERE b.pipeline = pipeline_jobs.pipeline)")
    op.execute("UPDATE pipeline_jobs SET dataset = '' WHERE dataset IS NULL")
    op.execute("UPDATE pipeline_jobs SET attempts = 1 WHERE started_at IS NOT NULL")
    with op.batch_alter_table("pipeline_jobs") as batch:
        batch.alter_column("dataset", existing_type=sa.String(200), nullable=False)
        batch.drop_constraint("uq_job_trigger", type_="unique")
        batch.create_unique_constraint("uq_job_dataset_trigger", ["pipeline", "dataset", "trigger"])
    op.create_table(
        "promotions",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("alias", sa.String(200), nullable=False),
        sa.Column("dataset", sa.String(220)),
        sa.Column("champion", sa.Integer()),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("figures", sa.Text()),
        sa.Column("version", sa.Integer()),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("outcome", sa.Text()),
        sa.Column("notified_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_promotions_model", "promotions", ["model", "version"])
    op.create_index("ix_promotions_state", "promotions", ["state"])


def downgrade() -> None:
    op.drop_index("ix_promotions_state", table_name="promotions")
    op.drop_index("ix_promotions_model", table_name="promotions")
    op.drop_table("promotions")
    with op.batch_alter_table("pipeline_jobs") as batch:
        batch.drop_constraint("uq_job_dataset_trigger", type_="unique")
    # two datasets may have queued the same trigger: keep the first job of each
    op.execute("DELETE FROM pipeline_jobs WHERE id NOT IN (SELECT MIN(id) FROM pipeline_jobs "
               "GROUP BY pipeline, trigger)")
    with op.batch_alter_table("pipeline_jobs") as batch:
        batch.create_unique_constraint("uq_job_trigger", ["pipeline", "trigger"])
        batch.drop_column("attempts")
        batch.drop_column("lease_until")
        batch.drop_column("owner")
        batch.drop_column("dataset")
