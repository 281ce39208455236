"""Saved pipelines, pipelines bound to datasets, and the queue of jobs that runs them.

A saved pipeline is a named spec kept in versions (every save that changes it is a new
version, the console's node layout included); a binding may name the saved version it runs.

A binding says: when dataset D has a new version (or schedule S fires), run spec P on it.
Each trigger becomes one job row, unique by (pipeline, dataset, trigger), so a version is
queued exactly once even if two watchers, or a restarted one, see it again — and re-binding
a pipeline to another dataset queues that dataset's versions as news of their own.

Jobs are *claimed*, not read: a conditional update (``… WHERE state = 'queued'``, checked by
its row count) gives a job to one watcher only, with an ``owner`` and a ``lease_until`` that
the owner renews while it works. Only a job whose lease has lapsed — expired, or its owner
process gone from this machine — can be taken back. Jobs of one pipeline run in the order
they were queued, one at a time, whichever watcher runs them.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    exc,
    exists,
    func,
    insert,
    select,
    update,
)

from podium._internal.suggest import did_you_mean
from podium.errors import NotFoundError
from podium.registry.tables import JSONText, RegistryTables, UTCDateTime, metadata

__all__ = ["PipelineStore", "Binding", "Job", "SavedPipeline", "check_schedule", "new_owner", "owner_alive",
           "LEASE_SECONDS"]

#: how long a claimed job stays its owner's without a renewal
LEASE_SECONDS = 30.0

bindings_table = Table(
    "pipeline_bindings",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("spec", JSONText, nullable=False),
    Column("dataset", String(200), nullable=False),
    Column("schedule", String(100)),
    Column("bound_at", UTCDateTime, nullable=False),
    Column("version", Integer),  # the saved pipeline version bound (migration 0005); None: a spec file
)

saved_table = Table(
    "pipelines",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("spec", JSONText, nullable=False),  # the spec mapping, its ``layout`` block included
    Column("saved_at", UTCDateTime, nullable=False),
    Column("saved_by", String(200)),
)

jobs_table = Table(
    "pipeline_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pipeline", String(200), nullable=False),
    Column("dataset", String(200), nullable=False),
    Column("trigger", String(300), nullable=False),  # "version:3" or "schedule:2026-11-27T03:00"
    Column("dataset_version", Integer, nullable=False),
    Column("state", String(10), nullable=False),  # queued | running | done | failed
    Column("run_id", String(32)),
    Column("error", Text),
    Column("queued_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("owner", String(200)),  # the watcher holding a running job: "host:pid:token"
    Column("lease_until", UTCDateTime),  # it is the owner's until then, unless renewed
    Column("attempts", Integer, nullable=False, server_default="0"),
    UniqueConstraint("pipeline", "dataset", "trigger", name="uq_job_dataset_trigger"),
)


@dataclass(frozen=True)
class Binding:
    pipeline: str
    spec: dict[str, Any]
    dataset: str
    schedule: str | None
    bound_at: datetime
    version: int | None = None


@dataclass(frozen=True)
class SavedPipeline:
    """One version of a saved pipeline."""

    name: str
    version: int
    spec: dict[str, Any]
    saved_at: datetime
    saved_by: str | None

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class Job:
    id: int
    pipeline: str
    dataset: str
    trigger: str
    dataset_version: int
    state: str
    run_id: str | None
    error: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    owner: str | None = None
    lease_until: datetime | None = None
    attempts: int = 0

    @property
    def ref(self) -> str:
        """The dataset version the job runs on, ``name:version``."""
        return f"{self.dataset}:{self.dataset_version}"


def check_schedule(schedule: str, *, where: str = "--schedule") -> None:
    """Raise SpecError unless ``schedule`` is a cron expression (UTC)."""
    from podium._internal.lazy import require
    from podium.errors import SpecError

    if not require("croniter", package="croniter").croniter.is_valid(schedule):
        raise SpecError(f"{where} '{schedule}' is not a cron expression (e.g. \"0 3 * * *\").")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _process_space() -> str:
    """Where this process's id means something: the host name, and the PID namespace if known
    (two containers may share a host name, never a PID namespace)."""
    try:
        namespace = "".join(c for c in os.readlink("/proc/self/ns/pid") if c.isdigit())
    except OSError:
        namespace = ""
    return f"{socket.gethostname().replace(':', '_')}/{namespace}"


def new_owner() -> str:
    """A name for one watcher: where it runs, its process id and a token (unique per watcher)."""
    return f"{_process_space()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_alive(owner: str) -> bool:
    """False only when ``owner`` is a process of this machine that has ended.

    A watcher elsewhere cannot be seen from here: its lease alone says whether it lives.
    """
    space, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if space != _process_space() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


class PipelineStore(RegistryTables):
    """Bindings and jobs, in the registry's database."""

    # -- saved pipelines --------------------------------------------------------------------------
    def save(self, name: str, spec: Mapping[str, Any], *, saved_by: str | None = None) -> tuple[SavedPipeline, bool]:
        """Keep ``spec`` as the next version of pipeline ``name``; (the version, False) when it
        equals the latest version (nothing new is written)."""
        with self._write() as conn:
            latest = conn.execute(select(saved_table).where(saved_table.c.name == name)
                                  .order_by(saved_table.c.version.desc()).limit(1)).mappings().first()
            if latest is not None and latest["spec"] == dict(spec):
                return SavedPipeline(**dict(latest)), False
            row: dict[str, Any] = {"name": name, "version": (latest["version"] + 1) if latest else 1,
                                   "spec": dict(spec), "saved_at": _now(), "saved_by": saved_by}
            conn.execute(insert(saved_table).values(**row))
        return SavedPipeline(**row), True

    def saved(self, name: str, version: int | None = None) -> SavedPipeline:
        """A saved pipeline's version (the latest when None)."""
        query = select(saved_table).where(saved_table.c.name == name)
        query = query.where(saved_table.c.version == version) if version is not None \
            else query.order_by(saved_table.c.version.desc()).limit(1)
        with self._read() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            if version is not None and self.saved_versions(name):
                raise NotFoundError(f"pipeline '{name}' has no version {version}.")
            names = [p.name for p in self.saved_pipelines()]
            raise NotFoundError(f"no pipeline named '{name}' is saved. {did_you_mean(name, names)}".rstrip(),
                                hint="save one from the console's designer")
        return SavedPipeline(**dict(row))

    def saved_versions(self, name: str) -> list[SavedPipeline]:
        """Every version of a saved pipeline, oldest first."""
        with self._read() as conn:
            rows = conn.execute(select(saved_table).where(saved_table.c.name == name)
                                .order_by(saved_table.c.version)).mappings()
            return [SavedPipeline(**dict(r)) for r in rows]

    def saved_pipelines(self) -> list[SavedPipeline]:
        """The latest version of each saved pipeline, by name."""
        latest = select(saved_table.c.name, func.max(saved_table.c.version).label("version")) \
            .group_by(saved_table.c.name).subquery()
        with self._read() as conn:
            rows = conn.execute(select(saved_table).join(latest, (saved_table.c.name == latest.c.name)
                                                         & (saved_table.c.version == latest.c.version))
                                .order_by(saved_table.c.name)).mappings()
            return [SavedPipeline(**dict(r)) for r in rows]

    # -- bindings -------------------------------------------------------------------------------
    def bind(self, pipeline: str, spec: Mapping[str, Any], *, dataset: str, schedule: str | None = None,
             version: int | None = None) -> Binding:
        """Bind (or rebind) a pipeline spec to a dataset, with an optional cron schedule;
        ``version``: the saved pipeline version the spec is."""
        row: dict[str, Any] = {"pipeline": pipeline, "spec": dict(spec), "dataset": dataset,
                               "schedule": schedule, "bound_at": _now(), "version": version}
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

    def unbind(self, pipeline: str) -> Binding:
        """Remove a binding: new versions of its dataset no longer run it (its jobs stay as history)."""
        found = self.binding(pipeline)
        with self._write() as conn:
            conn.execute(delete(bindings_table).where(bindings_table.c.pipeline == pipeline))
        return found

    def binding(self, pipeline: str) -> Binding:
        for b in self.bindings():
            if b.pipeline == pipeline:
                return b
        names = [b.pipeline for b in self.bindings()]
        raise NotFoundError(f"no pipeline named '{pipeline}' is bound. {did_you_mean(pipeline, names)}".rstrip(),
                            hint="bind one: podium pipelines bind SPEC --dataset NAME")

    # -- jobs -----------------------------------------------------------------------------------
    def enqueue(self, pipeline: str, trigger: str, dataset_version: int, *, dataset: str) -> Job | None:
        """Queue a job for this trigger on this dataset; None when it was queued before (exactly once)."""
        try:
            with self._write() as conn:
                key = conn.execute(insert(jobs_table).values(
                    pipeline=pipeline, dataset=dataset, trigger=trigger, dataset_version=dataset_version,
                    state="queued", queued_at=_now(), attempts=0)).inserted_primary_key
        except exc.IntegrityError:
            return None
        assert key is not None
        return self.job(int(key[0]))

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

    def has_trigger(self, pipeline: str, trigger: str, *, dataset: str) -> bool:
        with self._read() as conn:
            return conn.execute(select(jobs_table.c.id).where(
                jobs_table.c.pipeline == pipeline, jobs_table.c.dataset == dataset,
                jobs_table.c.trigger == trigger)).first() is not None

    def claim(self, owner: str, *, lease_seconds: float = LEASE_SECONDS) -> Job | None:
        """Take the next runnable job for ``owner``: the oldest queued job of a pipeline with
        no job running. None when there is none, or another watcher took each first."""
        running = jobs_table.alias("running")
        heads = select(func.min(jobs_table.c.id)).where(jobs_table.c.state == "queued") \
            .group_by(jobs_table.c.pipeline).scalar_subquery()
        busy = select(running.c.pipeline).where(running.c.state == "running").scalar_subquery()
        with self._write() as conn:
            candidates = conn.execute(select(jobs_table.c.id, jobs_table.c.pipeline).where(
                jobs_table.c.id.in_(heads), jobs_table.c.pipeline.not_in(busy))
                .order_by(jobs_table.c.id)).all()
            for job_id, pipeline in candidates:
                # PostgreSQL: claims of one pipeline queue on its binding row (SQLite: the write lock)
                conn.execute(select(bindings_table.c.pipeline).where(
                    bindings_table.c.pipeline == pipeline).with_for_update())
                now = _now()
                claimed = conn.execute(update(jobs_table).where(
                    jobs_table.c.id == job_id, jobs_table.c.state == "queued",
                    ~exists().where(running.c.pipeline == pipeline, running.c.state == "running"),
                ).values(state="running", owner=owner, lease_until=now + timedelta(seconds=lease_seconds),
                         started_at=now, error=None, run_id=None,
                         attempts=jobs_table.c.attempts + 1)).rowcount
                if claimed == 1:
                    row = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).mappings().one()
                    return Job(**dict(row))
        return None

    def renew(self, job_id: int, owner: str, *, lease_seconds: float = LEASE_SECONDS) -> bool:
        """Extend ``owner``'s lease on a running job; False when the job is no longer its own."""
        with self._write() as conn:
            return conn.execute(update(jobs_table).where(
                jobs_table.c.id == job_id, jobs_table.c.owner == owner, jobs_table.c.state == "running",
            ).values(lease_until=_now() + timedelta(seconds=lease_seconds))).rowcount == 1

    def lapsed(self, *, alive: Callable[[str], bool] = owner_alive) -> list[Job]:
        """Running jobs whose lease has lapsed: expired, or held by a process that has ended."""
        now = _now()
        return [job for job in self.jobs(state="running", limit=10_000)
                if job.owner is None or job.lease_until is None or job.lease_until < now
                or not alive(job.owner)]

    def take_over(self, job: Job, owner: str, *, lease_seconds: float = LEASE_SECONDS) -> bool:
        """Take a lapsed job for ``owner`` — only if nobody renewed or took it since it was read."""
        previous = jobs_table.c.owner.is_(None) if job.owner is None else jobs_table.c.owner == job.owner
        lease = jobs_table.c.lease_until.is_(None) if job.lease_until is None \
            else jobs_table.c.lease_until == job.lease_until
        with self._write() as conn:
            return conn.execute(update(jobs_table).where(
                jobs_table.c.id == job.id, jobs_table.c.state == "running", previous, lease,
            ).values(owner=owner, lease_until=_now() + timedelta(seconds=lease_seconds))).rowcount == 1

    def attach_run(self, job_id: int, run_id: str, *, owner: str | None = None) -> bool:
        return self._set(job_id, owner, run_id=run_id)

    def finish(self, job_id: int, *, owner: str | None = None, error: str | None = None) -> bool:
        """Mark a job done (or failed, with ``error``); with ``owner``, only while it is its own."""
        return self._set(job_id, owner, state="failed" if error else "done", error=error, finished_at=_now(),
                         lease_until=None)

    def requeue(self, job_id: int, *, note: str, owner: str | None = None) -> bool:
        return self._set(job_id, owner, state="queued", error=note, run_id=None, owner=None, lease_until=None)

    def last_fire(self, pipeline: str) -> datetime | None:
        """When the pipeline's schedule last queued a job."""
        with self._read() as conn:
            value: datetime | None = conn.execute(select(jobs_table.c.queued_at).where(
                jobs_table.c.pipeline == pipeline, jobs_table.c.trigger.like("schedule:%"),
            ).order_by(jobs_table.c.id.desc()).limit(1)).scalar()
            return value

    def _set(self, job_id: int, holder: str | None, **values: Any) -> bool:
        query = update(jobs_table).where(jobs_table.c.id == job_id)
        if holder is not None:  # only while the job is still this watcher's
            query = query.where(jobs_table.c.owner == holder, jobs_table.c.state == "running")
        with self._write() as conn:
            return conn.execute(query.values(**values)).rowcount == 1
