"""The watcher: new data versions (and schedules) run their bound pipelines, exactly once.

Each step polls the bound datasets' sources (cheap fingerprints), snapshots a source once
it has been quiet for ``quiet_seconds`` (a file still being written, ten files dropped at
once → one version), queues one job per new version and binding (unique in the registry,
so a version is never run twice), fires due cron schedules, and runs queued jobs in order,
one at a time. Started again after a crash, it first settles the jobs that were running:
a job whose run registered a model is done; any other goes back to the queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from podium._internal.lazy import require
from podium.automation.events import Event
from podium.automation.notifiers import build_notifiers, notify_all
from podium.automation.run import RunResult, run_pipeline
from podium.config import Settings
from podium.errors import PodiumError
from podium.registry import Registry
from podium.registry.datasets import DatasetStore
from podium.registry.pipelines import Binding, Job, PipelineStore
from podium.spec import parse_spec

__all__ = ["Watcher", "WatchLog"]

logger = logging.getLogger("podium.watch")


@dataclass
class WatchLog:
    """What one step did, for the CLI to print and tests to read."""

    versions: list[str] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)
    ran: list[tuple[int, str]] = field(default_factory=list)


class Watcher:
    def __init__(self, settings: Settings, registry: Registry | None = None, *, quiet_seconds: float = 2.0,
                 on_message: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.registry = registry or Registry.from_settings(settings)
        self.datasets = DatasetStore(self.registry)
        self.pipelines = PipelineStore(self.registry)
        self.quiet_seconds = quiet_seconds
        self.say = on_message or logger.info
        self._seen: dict[str, tuple[str, float]] = {}  # dataset → (fingerprint, since)
        self._taken: dict[str, str] = {}  # dataset → the fingerprint last snapshotted
        self._recovered = False

    # -- one step -------------------------------------------------------------------------------
    def step(self, *, run: bool = True) -> WatchLog:
        log = WatchLog()
        if not self._recovered:
            self.recover()
            self._recovered = True
        bindings = self.pipelines.bindings()
        for dataset in sorted({b.dataset for b in bindings}):
            self._poll(dataset, log)
        for binding in bindings:
            self._queue_versions(binding, log)
            self._fire_schedule(binding, log)
        if run:
            job = self._next_job()
            if job is not None:
                log.ran.append((job.id, self.run_job(job)))
        return log

    def run_forever(self, *, interval: float = 2.0, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                log = self.step()
            except PodiumError as exc:  # a source down for a while must not stop the watcher
                self.say(f"error: {exc}")
                log = WatchLog()
            if not log.ran:
                stop.wait(interval)

    # -- recovery -------------------------------------------------------------------------------
    def recover(self) -> None:
        """Settle the jobs a killed watcher left running."""
        for job in self.pipelines.jobs(state="running", limit=10_000):
            registered = self._registered_version(job)
            if registered is not None:
                self.pipelines.finish(job.id)
                self.say(f"job {job.id}: its run had registered {registered} before the restart; done")
                continue
            if job.run_id is not None:
                try:
                    self.registry.finish_run(job.run_id, "failed", summary={},
                                             error="interrupted: the watcher stopped during the run")
                except PodiumError:
                    pass
            self.pipelines.requeue(job.id, note="interrupted by a restart; queued again")
            self.say(f"job {job.id}: interrupted by a restart; queued again")

    def _registered_version(self, job: Job) -> str | None:
        if job.run_id is None:
            return None
        for model in self.registry.list_models():
            for version in self.registry.list_versions(model.name):
                if version.run_id == job.run_id:
                    return version.ref
        return None

    # -- triggers -------------------------------------------------------------------------------
    def _poll(self, dataset: str, log: WatchLog) -> None:
        try:
            fingerprint = self.datasets.source(dataset).fingerprint()
        except PodiumError as exc:
            self.say(f"dataset {dataset}: cannot poll its source: {exc}")
            return
        now = time.monotonic()
        seen = self._seen.get(dataset)
        if (seen is None or seen[0] != fingerprint) and self.quiet_seconds > 0:
            self._seen[dataset] = (fingerprint, now)  # new or changed: wait until it is quiet
            return
        if (seen and now - seen[1] < self.quiet_seconds) or self._taken.get(dataset) == fingerprint:
            return
        self._taken[dataset] = fingerprint
        version = self.datasets.snapshot(dataset, creator="watch")
        if version is None:
            return
        log.versions.append(version.ref)
        self.say(f"dataset {version.ref}: {version.rows} rows"
                 + (f", drift in {', '.join(version.drifted_columns)}" if version.drifted else ""))
        if version.drifted:
            notify_all(build_notifiers(self.settings.notify), Event(
                kind="drift", title=f"podium: drift in dataset {version.ref}",
                text=version.drift_report().message if version.drift_report() else "drift flagged",
                payload={"dataset": dataset, "version": version.version,
                         "drifted_columns": list(version.drifted_columns)}))

    def _queue_versions(self, binding: Binding, log: WatchLog) -> None:
        for version in self.datasets.versions(binding.dataset):
            if version.created_at < binding.bound_at:
                continue  # versions from before the binding are not news
            job = self.pipelines.enqueue(binding.pipeline, f"version:{version.version}", version.version)
            if job is not None:
                log.queued.append(job.id)
                self.say(f"queued job {job.id}: {binding.pipeline} on {binding.dataset}:{version.version}")

    def _fire_schedule(self, binding: Binding, log: WatchLog) -> None:
        if not binding.schedule:
            return
        croniter = require("croniter", package="croniter").croniter
        last = self.pipelines.last_fire(binding.pipeline) or binding.bound_at
        due = croniter(binding.schedule, last).get_next(datetime)
        if due > datetime.now(timezone.utc):
            return
        self.datasets.snapshot(binding.dataset, creator="schedule")
        versions = self.datasets.versions(binding.dataset)
        if not versions:
            return
        job = self.pipelines.enqueue(binding.pipeline, f"schedule:{due.isoformat()}", versions[-1].version)
        if job is not None:
            log.queued.append(job.id)
            self.say(f"schedule fired: job {job.id}: {binding.pipeline}")

    def _data_note(self, ref: str) -> str:
        """What changed in this version since the one before: rows, schema, drifted columns."""
        version = self.datasets.get(ref)
        note = f"{ref} has {version.rows} rows"
        previous = self.datasets.previous(ref)
        if previous is None:
            return note + " (its first version)."
        note += f" ({version.rows - previous.rows:+d} since {previous.ref})"
        report = version.drift_report()
        if report is not None:
            if report.schema_changed:
                changes = [f"added {c}" for c in report.added_columns] + \
                    [f"removed {c}" for c in report.removed_columns]
                note += "; schema: " + (", ".join(changes) or "column types changed")
            if report.drifted_columns:
                note += "; drifted columns: " + ", ".join(report.drifted_columns)
        return note + "."

    # -- running --------------------------------------------------------------------------------
    def _next_job(self) -> Job | None:
        queued = self.pipelines.jobs(state="queued", limit=1)
        return queued[0] if queued else None

    def run_job(self, job: Job) -> str:
        """Run one queued job to its end; returns the run's status (or 'failed')."""
        binding = self.pipelines.binding(job.pipeline)
        ref = f"{binding.dataset}:{job.dataset_version}"
        self.pipelines.start(job.id)
        self.say(f"job {job.id}: running {job.pipeline} on {ref}")
        try:
            spec = parse_spec(binding.spec, origin=f"pipeline {job.pipeline}")
            frame = self.datasets.load(ref)
            result: RunResult = run_pipeline(
                spec, self.settings, registry=self.registry, frame=frame, origin=f"dataset {ref}",
                on_run_started=lambda run_id: self.pipelines.attach_run(job.id, run_id),
                data_note=self._data_note(ref))
        except Exception as exc:  # the job fails; the watcher goes on
            self.pipelines.finish(job.id, error=f"{type(exc).__name__}: {exc}"[:1000])
            self.say(f"job {job.id}: failed: {exc}")
            return "failed"
        self.pipelines.finish(job.id)
        self.say(f"job {job.id}: {result.status}"
                 + (f" {result.model}:{result.version}" if result.version is not None else ""))
        return result.status
