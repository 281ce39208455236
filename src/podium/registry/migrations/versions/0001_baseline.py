"""Baseline: the registry as podium 0.1.0 made it.

Revision ID: 0001
Revises: (none)

Written out by hand, frozen: it never follows later changes of the code's tables. podium 0.1.0
created its tables on first use, part by part (the prediction log only when a service logged),
so a 0.1.0 database may lack some of them: this revision creates only the tables that are not
there yet, which makes it both the first revision of a new database and the adoption of an old one.
JSON values are text and times are ``DateTime(timezone=True)``, as the code's column types store them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_NAME = 200


def _created(name: str, *columns: sa.Column[object] | sa.Constraint,
             indexes: tuple[tuple[str, list[str], bool], ...] = ()) -> None:
    """Create table ``name`` and its indexes ``(name, columns, unique)``, unless it exists."""
    if sa.inspect(op.get_bind()).has_table(name):
        return
    op.create_table(name, *columns)
    for index, on, unique in indexes:
        op.create_index(index, name, on, unique=unique)


def upgrade() -> None:
    _created(
        "runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(_NAME), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("task", sa.String(20)),
        sa.Column("metric", sa.String(100)),
        sa.Column("dataset_fingerprint", sa.String(64)),
        sa.Column("source", sa.Text()),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("summary", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.PrimaryKeyConstraint("id"),
        indexes=(("ix_runs_name", ["name"], False), ("ix_runs_started_at", ["started_at"], False)),
    )
    _created(
        "trials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("candidate", sa.String(100), nullable=False),
        sa.Column("params", sa.Text()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("score", sa.Float()),
        sa.Column("metrics", sa.Text()),
        sa.Column("fit_seconds", sa.Float()),
        sa.Column("predict_ms_per_1000", sa.Float()),
        sa.Column("size_bytes", sa.BigInteger()),
        sa.Column("error", sa.Text()),
        sa.Column("rank", sa.Integer()),
        sa.Column("extra", sa.Text()),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        indexes=(("ix_trials_run_id", ["run_id"], False),),
    )
    _created(
        "models",
        sa.Column("name", sa.String(_NAME), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text()),
        sa.PrimaryKeyConstraint("name"),
    )
    _created(
        "model_versions",
        sa.Column("name", sa.String(_NAME), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.Column("artifact_key", sa.String(500), nullable=False),
        sa.Column("checksum", sa.String(64)),
        sa.Column("metric", sa.String(100)),
        sa.Column("score", sa.Float()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "version"),
        sa.ForeignKeyConstraint(["name"], ["models.name"]),
    )
    _created(
        "aliases",
        sa.Column("name", sa.String(_NAME), nullable=False),
        sa.Column("alias", sa.String(_NAME), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "alias"),
        sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"]),
    )
    _created(
        "api_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(_NAME), nullable=False),
        sa.Column("hashed_key", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("models", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hashed_key"),
        indexes=(("ix_api_keys_name", ["name"], False),),
    )
    _created(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.Column("model", sa.String(_NAME)),
        sa.Column("version", sa.Integer()),
        sa.Column("payload", sa.Text()),
        sa.PrimaryKeyConstraint("id"),
        indexes=(("ix_events_time", ["time"], False), ("ix_events_model", ["model", "version"], False),
                 ("ix_events_kind", ["kind"], False)),
    )
    _created(
        "datasets",
        sa.Column("name", sa.String(_NAME), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("description", sa.Text()),
        sa.Column("options", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    _created(
        "dataset_versions",
        sa.Column("name", sa.String(_NAME), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("schema", sa.Text()),
        sa.Column("profile", sa.Text()),
        sa.Column("drift", sa.Text()),
        sa.Column("drifted", sa.Boolean(), nullable=False),
        sa.Column("artifact_key", sa.String(500), nullable=False),
        sa.Column("checksum", sa.String(64)),
        sa.Column("origin", sa.Text()),
        sa.Column("creator", sa.String(_NAME)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "version"),
        sa.ForeignKeyConstraint(["name"], ["datasets.name"]),
        indexes=(("ix_dataset_versions_fingerprint", ["fingerprint"], False),),
    )
    _created(
        "pipeline_bindings",
        sa.Column("pipeline", sa.String(_NAME), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("dataset", sa.String(_NAME), nullable=False),
        sa.Column("schedule", sa.String(100)),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pipeline"),
    )
    _created(
        "pipeline_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pipeline", sa.String(_NAME), nullable=False),
        sa.Column("trigger", sa.String(300), nullable=False),
        sa.Column("dataset_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.Column("error", sa.Text()),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pipeline", "trigger", name="uq_job_trigger"),
    )
    _created(
        "prediction_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(_NAME), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("outputs", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        indexes=(("ix_prediction_log_time", ["time"], False), ("ix_prediction_log_model", ["model"], False)),
    )


def downgrade() -> None:
    for name in ("prediction_log", "pipeline_jobs", "pipeline_bindings", "dataset_versions", "datasets",
                 "events", "api_keys", "aliases", "model_versions", "models", "trials", "runs"):
        op.drop_table(name)
