"""Pipelines bound to datasets, and the queue of jobs that runs them.

A binding says: when dataset D has a new version (or schedule S fires), run spec P on it.
Each trigger becomes one job row, unique by (pipeline, trigger), so a version is run
exactly once even if two watchers, or a restarted one, see it again. Jobs of one pipeline
run in the order they were queued, one at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, Integer, String, Table, Text, UniqueConstraint, exc, insert, select, update

from podium._internal.suggest import did_you_mean
from podium.errors import NotFoundError
from podium.registry.tables import JSONText, RegistryTables, UTCDateTime, metadata

__all__ = ["PipelineStore", "Binding", "Job"]

bindings_table = Table(
    "pipeline_bindings",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("spec", JSONText, nullable=False),
    Column("dataset", String(200), nullable=False),
    Column("schedule", String(100)),
    Column("bound_at", UTCDateTime, nullable=False),
)

jobs_table = Table(
    "pipeline_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pipeline", String(200), nullable=False),
    Column("trigger", String(300), nullable=False),  # "version:3" or "schedule:2026-11-27T03:00"
    Column("dataset_version", Integer, nullable=False),
    Column("state", String(10), nullable=False),  # queued | running | done | failed
    Column("run_id", String(32)),
    Column("error", Text),
    Column("queued_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    UniqueConstraint("pipeline", "trigger", name="uq_job_trigger"),
)


@dataclass(frozen=True)
class Binding:
    pipeline: str
    spec: dict[str, Any]
    dataset: str
    schedule: str | None
    bound_at: datetime


@dataclass(frozen=True)
class Job:
    id: int
    pipeline: str
    trigger: str
    dataset_version: int
    state: str
    run_id: str | None
    error: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def _now() -> datetime:
    return datetime.now(timezone.utc)


class PipelineStore(RegistryTables):
    """Bindings and jobs, in the registry's database."""

    # -- bindings -------------------------------------------------------------------------------
    def bind(self, pipeline: str, spec: Mapping[str, Any], *, dataset: str, schedule: str | None = None) -> Binding:
        """Bind (or rebind) a pipeline spec to a dataset, with an optional cron schedule."""
        row = {"pipeline": pipeline, "spec": dict(spec), "dataset": dataset, "schedule": schedule,
               "bound_at": _now()}
        with self._write() as conn:
            exists = conn.execute(select(bindings_table.c.pipeline).where(
                bindings_table.c.pipeline == pipeline)).scalar()
            if exists:
                conn.execute(update(bindings_table).where(bindings_table.c.pipeline == pipeline).values(**row))
            else:
                conn.execute(insert(bindings_table).values(**row))
        return Binding(**row)

    def bindings(self) -> list[Binding]:
        with self._read() as conn:
            rows = conn.execute(select(bindings_table).order_by(bindings_table.c.pipeline)).mappings()
            return [Binding(**dict(r)) for r in rows]

    def binding(self, pipeline: str) -> Binding:
        for b in self.bindings():
            if b.pipeline == pipeline:
                return b
        names = [b.pipeline for b in self.bindings()]
        raise NotFoundError(f"no pipeline named '{pipeline}' is bound. {did_you_mean(pipeline, names)}".rstrip(),
                            hint="bind one: podium pipelines bind SPEC --dataset NAME")

    # -- jobs -----------------------------------------------------------------------------------
    def enqueue(self, pipeline: str, trigger: str, dataset_version: int) -> Job | None:
        """Queue a job for this trigger; None when it was queued before (exactly once)."""
        try:
            with self._write() as conn:
                job_id = conn.execute(insert(jobs_table).values(
                    pipeline=pipeline, trigger=trigger, dataset_version=dataset_version, state="queued",
                    queued_at=_now())).inserted_primary_key[0]
        except exc.IntegrityError:
            return None
        return self.job(int(job_id))

    def job(self, job_id: int) -> Job:
        with self._read() as conn:
            row = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no job {job_id}.")
        return Job(**dict(row))

    def jobs(self, *, pipeline: str | None = None, state: str | None = None, limit: int = 100) -> list[Job]:
        """Jobs, oldest first."""
        query = select(jobs_table).order_by(jobs_table.c.id).limit(limit)
        if pipeline is not None:
            query = query.where(jobs_table.c.pipeline == pipeline)
        if state is not None:
            query = query.where(jobs_table.c.state == state)
        with self._read() as conn:
            return [Job(**dict(r)) for r in conn.execute(query).mappings()]

    def has_trigger(self, pipeline: str, trigger: str) -> bool:
        with self._read() as conn:
            return conn.execute(select(jobs_table.c.id).where(
                jobs_table.c.pipeline == pipeline, jobs_table.c.trigger == trigger)).first() is not None

    def start(self, job_id: int) -> None:
        self._set(job_id, state="running", started_at=_now(), error=None)

    def attach_run(self, job_id: int, run_id: str) -> None:
        self._set(job_id, run_id=run_id)

    def finish(self, job_id: int, *, error: str | None = None) -> None:
        self._set(job_id, state="failed" if error else "done", error=error, finished_at=_now())

    def requeue(self, job_id: int, *, note: str) -> None:
        self._set(job_id, state="queued", error=note, run_id=None)

    def last_fire(self, pipeline: str) -> datetime | None:
        """When the pipeline's schedule last queued a job."""
        with self._read() as conn:
            return conn.execute(select(jobs_table.c.queued_at).where(
                jobs_table.c.pipeline == pipeline, jobs_table.c.trigger.like("schedule:%"),
            ).order_by(jobs_table.c.id.desc()).limit(1)).scalar()

    def _set(self, job_id: int, **values: Any) -> None:
        with self._write() as conn:
            conn.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(**values))
