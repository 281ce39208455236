"""The registry's tables (SQLAlchemy Core), portable between SQLite and PostgreSQL.

One ``metadata`` holds every table of the registry (``registry_metadata()`` makes sure the
tables defined next to their part are in it); the database is brought to it by the Alembic
migrations of ``podium.registry.migrations``, never by ``create_all``.

JSON is stored as text (NaN and infinities as null, so PostgreSQL accepts every value) and
times as UTC. A model version row is ``pending`` from the moment its number is reserved
until its artifact is stored; only ``ready`` versions are ever resolved, listed or aliased.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
)

from podium.registry._json import dumps, loads

if TYPE_CHECKING:
    from podium.registry.store import Registry

__all__ = ["metadata", "registry_metadata", "runs", "trials", "models", "model_versions", "aliases", "api_keys", "events",
           "promotions", "JSONText", "UTCDateTime", "READY", "PENDING"]

READY = "ready"
PENDING = "pending"


class JSONText(TypeDecorator[Any]):
    """A JSON value kept as text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else dumps(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return loads(value)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite keeps naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


metadata = MetaData()

_NAME = 200

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(_NAME), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("spec", JSONText, nullable=False),
    Column("task", String(20)),
    Column("metric", String(100)),
    Column("dataset_fingerprint", String(64)),
    Column("source", Text),
    Column("started_at", UTCDateTime, nullable=False, index=True),
    Column("finished_at", UTCDateTime),
    Column("summary", JSONText),
    Column("error", Text),
    Column("owner", String(_NAME)),  # the process running it ("host:pid:token"), for recovery
)

trials = Table(
    "trials",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id"), nullable=False, index=True),
    Column("candidate", String(100), nullable=False),
    Column("params", JSONText),
    Column("status", String(20), nullable=False),
    Column("score", Float),
    Column("metrics", JSONText),
    Column("fit_seconds", Float),
    Column("predict_ms_per_1000", Float),
    Column("size_bytes", BigInteger),
    Column("error", Text),
    Column("rank", Integer),
    Column("extra", JSONText),  # the other fields of a leaderboard row (trial number, cv score...)
)

models = Table(
    "models",
    metadata,
    Column("name", String(_NAME), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("description", Text),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("name", String(_NAME), ForeignKey("models.name"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),  # (name, version) is unique
    Column("state", String(10), nullable=False),
    Column("run_id", String(32)),
    Column("artifact_key", String(500), nullable=False),
    Column("checksum", String(64)),  # sha256 of the package's manifest
    Column("metric", String(100)),
    Column("score", Float),
    Column("created_at", UTCDateTime, nullable=False),
)

aliases = Table(
    "aliases",
    metadata,
    Column("name", String(_NAME), primary_key=True),
    Column("alias", String(_NAME), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # an alias can only point at a version that exists
    ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"]),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(_NAME), nullable=False, index=True),
    Column("hashed_key", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("models", JSONText, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    # rights beyond predicting (migration 0002): datasets it may upload to, administration
    Column("uploads", JSONText, nullable=False, server_default="[]"),
    Column("admin", Boolean, nullable=False, server_default=false()),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", UTCDateTime, nullable=False, index=True),
    Column("kind", String(50), nullable=False),
    Column("run_id", String(32)),
    Column("model", String(_NAME)),
    Column("version", Integer),
    Column("payload", JSONText),
    Index("ix_events_model", "model", "version"),
    Index("ix_events_kind", "kind"),
)

promotions = Table(
    "promotions",
    metadata,
    # one per run that cleared the gate, written *before* its version is registered, so that
    # recovery can finish what a crash interrupted
    Column("run_id", String(32), primary_key=True),
    Column("model", String(_NAME), nullable=False),
    Column("alias", String(_NAME), nullable=False),
    Column("dataset", String(_NAME + 20)),  # the dataset version the challenger learned from
    Column("champion", Integer),  # where the alias pointed when decided: the move's expected version
    Column("decision", String(10), nullable=False),  # promote | keep | approve (a person decides)
    Column("message", Text, nullable=False),
    Column("figures", JSONText),
    Column("version", Integer),  # the challenger, once registered
    Column("state", String(20), nullable=False),  # see records.PROMOTION_STATES
    Column("outcome", Text),
    Column("notified_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_promotions_model", "model", "version"),
    Index("ix_promotions_state", "state"),
)


def registry_metadata() -> MetaData:
    """The one metadata of the registry, with the tables that other modules of the part define
    next to their logic (datasets, pipelines, the prediction log) imported into it."""
    import podium.registry.datasets  # noqa: F401  (each adds its tables to ``metadata``)
    import podium.registry.pipelines  # noqa: F401
    import podium.registry.predictions  # noqa: F401
    import podium.registry.services  # noqa: F401

    return metadata


class RegistryTables:
    """Base of a part that keeps its tables in the registry's database (datasets, pipelines):
    it works in the registry's transactions, which check the schema on first use."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def _write(self) -> AbstractContextManager[Connection]:
        return self.registry._write()

    def _read(self) -> AbstractContextManager[Connection]:
        return self.registry._read()
