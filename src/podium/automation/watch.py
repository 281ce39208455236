"""The watcher: new data versions (and schedules) run their bound pipelines, exactly once.

Each step polls the bound datasets' sources (cheap fingerprints), snapshots a source once
it has been quiet for ``quiet_seconds`` (a file still being written, ten files dropped at
once → one version), queues one job per new version, dataset and binding (unique in the
registry, so a version is never queued twice), fires due cron schedules, and runs the next
job it can *claim*. Several watchers may share one registry: a claim is a conditional update
that one watcher wins, and the winner holds the job with a lease it renews from a background
thread while the run goes on. A job whose lease lapsed (its watcher was killed, or lost the
database for longer than the lease) is taken back by whichever watcher sees it first, and
settled: a job whose run registered a model is finished, any other goes back to the queue.

A failing source, dataset store or database stops neither the watcher nor the other
pipelines: the failing part is retried with a growing delay (``Backoff``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from datetime import datetime, timezone
from typing import Any

from podium._internal import failpoints
from podium._internal.lazy import require
from podium.automation.events import Event
from podium.automation.notifiers import Notifier, build_notifiers, notify_all
from podium.automation.promote import finish_promotion, notifiers_for
from podium.automation.run import RunResult, run_pipeline
from podium.config import Settings
from podium.errors import PodiumError
from podium.registry import Registry
from podium.registry.datasets import DatasetStore
from podium.registry.pipelines import Binding, Job, PipelineStore, new_owner, owner_alive
from podium.spec import parse_spec

__all__ = ["Watcher", "WatchLog", "Backoff", "LeaseLost"]

logger = logging.getLogger("podium.watch")


class LeaseLost(PodiumError):
    """This watcher no longer holds the job it is running (another watcher took it back)."""


@dataclass
class WatchLog:
    """What one step did, for the CLI to print and tests to read."""

    versions: list[str] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)
    ran: list[tuple[int, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Backoff:
    """Retry delays per failing part (a dataset, a pipeline, the database): doubling from
    ``base`` up to ``cap`` seconds while it keeps failing, cleared by its first success."""

    def __init__(self, *, base: float = 1.0, cap: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base, self.cap, self.clock = base, cap, clock
        self._failures: dict[str, int] = {}
        self._until: dict[str, float] = {}

    def ready(self, key: str) -> bool:
        """Whether ``key`` may be tried now."""
        return self.clock() >= self._until.get(key, 0.0)

    def failed(self, key: str) -> float:
        """Record a failure of ``key``; returns the seconds before it is tried again."""
        count = self._failures.get(key, 0) + 1
        self._failures[key] = count
        delay = float(min(self.cap, self.base * 2 ** (count - 1)))
        self._until[key] = self.clock() + delay
        return delay

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
        self._until.pop(key, None)


class _Lease:
    """Keeps a claimed job this watcher's: renews its lease from a background thread."""

    def __init__(self, store: PipelineStore, job: Job, owner: str, seconds: float,
                 say: Callable[[str], None]) -> None:
        self.store, self.job, self.owner, self.seconds, self.say = store, job, owner, seconds, say
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_until_stopped, daemon=True,
                                        name=f"podium-lease-{job.id}")

    def _renew_until_stopped(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                held = self.store.renew(self.job.id, self.owner, lease_seconds=self.seconds)
            except Exception as exc:  # noqa: BLE001  the database may come back before the lease ends
                self.say(f"job {self.job.id}: could not renew its lease: {exc}")
                continue
            if not held:
                self.lost.set()
                self.say(f"job {self.job.id}: another watcher took it back")
                return

    def check(self) -> None:
        """Raise ``LeaseLost`` unless the job is still this watcher's (asks the database)."""
        if self.lost.is_set() or not self.store.renew(self.job.id, self.owner, lease_seconds=self.seconds):
            self.lost.set()
            raise LeaseLost(f"job {self.job.id} was taken back by another watcher; this run stops "
                            "before registering anything.")

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Watcher:
    def __init__(self, settings: Settings, registry: Registry | None = None, *, quiet_seconds: float = 2.0,
                 on_message: Callable[[str], None] | None = None, backoff: Backoff | None = None) -> None:
        self.settings = settings
        self.registry = registry or Registry.from_settings(settings)
        self.datasets = DatasetStore(self.registry)
        self.pipelines = PipelineStore(self.registry)
        self.quiet_seconds = quiet_seconds
        self.say = on_message or logger.info
        self.owner = new_owner()
        self.lease_seconds = settings.watch_lease_seconds
        self.backoff = backoff or Backoff()
        self._seen: dict[str, tuple[str, float]] = {}  # dataset → (fingerprint, since)
        self._taken: dict[str, str] = {}  # dataset → the fingerprint last snapshotted
        failpoints.arm(settings.test_kill_at)

    # -- one step -------------------------------------------------------------------------------
    def step(self, *, run: bool = True) -> WatchLog:
        """Recover lapsed jobs, poll, queue, fire schedules, and run one job it can claim.

        A failing dataset or pipeline is skipped (and retried later); a failing database
        raises, for ``run_forever`` to back off.
        """
        log = WatchLog()
        self.recover()
        bindings = self.pipelines.bindings()
        for dataset in sorted({b.dataset for b in bindings}):
            self._guarded(f"dataset {dataset}", log, partial(self._poll, dataset, log))
        for binding in bindings:
            self._guarded(f"pipeline {binding.pipeline}", log, partial(self._queue_versions, binding, log))
            self._guarded(f"schedule of {binding.pipeline}", log, partial(self._fire_schedule, binding, log))
        if run:
            job = self.pipelines.claim(self.owner, lease_seconds=self.lease_seconds)
            if job is not None:
                failpoints.reach("watch.claimed")
                log.ran.append((job.id, self.run_job(job)))
        return log

    def run_forever(self, *, interval: float = 2.0, stop: threading.Event | None = None) -> None:
        """Step until ``stop`` is set; any error is said and retried with backoff."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                log = self.step()
                self.backoff.succeeded("step")
            except Exception as exc:  # noqa: BLE001  the database or store may be back soon
                delay = self.backoff.failed("step")
                self.say(f"error: {exc}; trying again in {delay:.0f} s")
                stop.wait(delay)
                continue
            if not log.ran:
                stop.wait(interval)

    def _guarded(self, part: str, log: WatchLog, action: Callable[[], None]) -> None:
        """Run one part of a step; a failure is said, and the part waits out its backoff."""
        if not self.backoff.ready(part):
            return
        try:
            action()
        except Exception as exc:  # noqa: BLE001  one failing part must not stop the others
            delay = self.backoff.failed(part)
            log.errors.append(f"{part}: {exc}")
            self.say(f"{part}: {exc}; trying again in {delay:.0f} s")
            return
        self.backoff.succeeded(part)

    # -- recovery -------------------------------------------------------------------------------
    def recover(self) -> list[int]:
        """Take back and settle the jobs whose lease lapsed; returns their ids."""
        self._finish_orphaned_promotions()
        settled = []
        for job in self.pipelines.lapsed():
            if not self.pipelines.take_over(job, self.owner, lease_seconds=self.lease_seconds):
                continue  # renewed by its owner, or taken by another watcher, since it was read
            failpoints.reach("watch.took_over")
            with self._lease(job):
                self._settle(job)
            settled.append(job.id)
        return settled

    def _settle(self, job: Job) -> None:
        """Finish what the job's run had done: complete its promotion, or queue the job again."""
        promotion = None if job.run_id is None else self.registry.promotion(job.run_id)
        if promotion is not None:
            record, _ = finish_promotion(self.registry, promotion.run_id, notifiers=self._notifiers(job),
                                         data_note=self._note_or_none(job.ref))
            if record.state != "abandoned":
                self.pipelines.finish(job.id, owner=self.owner)
                self.say(f"job {job.id}: its watcher stopped; recovered its promotion of "
                         f"{record.model}:{record.version}: {record.state} ({record.outcome})")
                return
        else:
            registered = self._registered_version(job)
            if registered is not None:  # registered by a podium that did not record decisions
                if job.run_id is not None:
                    self.registry.finish_run(job.run_id, "not_promoted", summary={}, if_running=True,
                                             error="interrupted after registering; the alias was not moved")
                self.pipelines.finish(job.id, owner=self.owner)
                self.say(f"job {job.id}: its run had registered {registered} before its watcher stopped; done")
                return
            if job.run_id is not None:
                self.registry.finish_run(job.run_id, "failed", summary={}, if_running=True,
                                         error="interrupted: the watcher stopped during the run")
        self.pipelines.requeue(job.id, owner=self.owner, note="interrupted: its watcher stopped; queued again")
        self.say(f"job {job.id}: interrupted (its watcher stopped); queued again")

    def _finish_orphaned_promotions(self) -> None:
        """Settle what no job's lease covers: promotions whose run ended without completing them
        (an error after the decision), and runs whose process is gone (a killed ``podium run``)."""
        in_jobs = {j.run_id for j in self.pipelines.jobs(state="running", limit=10_000)}
        for record in self.registry.list_promotions(state="registered") + self.registry.list_promotions(state="decided"):
            run = self.registry.get_run(record.run_id)
            if run.status == "running" and (run.id in in_jobs or run.owner is None or owner_alive(run.owner)):
                continue  # in progress, or its job's lease will settle it
            done, _ = finish_promotion(self.registry, record.run_id,
                                       notifiers=notifiers_for(self.registry, self.settings, run.name))
            self.say(f"run {record.run_id[:12]}: completed its promotion: {done.state} ({done.outcome})")
        for run in self.registry.list_runs(limit=1000, status="running"):
            if run.id not in in_jobs and run.owner is not None and not owner_alive(run.owner):
                if self.registry.finish_run(run.id, "failed", summary={}, if_running=True,
                                            error="interrupted: its process stopped during the run"):
                    self.say(f"run {run.id[:12]}: its process stopped during the run; marked failed")

    def _notifiers(self, job: Job) -> list[Notifier[Any]]:
        return notifiers_for(self.registry, self.settings, job.pipeline)

    def _note_or_none(self, ref: str) -> str | None:
        try:
            return self._data_note(ref)
        except PodiumError:
            return None

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
        fingerprint = self.datasets.source(dataset).fingerprint()  # a failure: backoff (see _guarded)
        now = time.monotonic()
        seen = self._seen.get(dataset)
        if (seen is None or seen[0] != fingerprint) and self.quiet_seconds > 0:
            self._seen[dataset] = (fingerprint, now)  # new or changed: wait until it is quiet
            return
        if (seen and now - seen[1] < self.quiet_seconds) or self._taken.get(dataset) == fingerprint:
            return
        version = self.datasets.snapshot(dataset, creator="watch")
        self._taken[dataset] = fingerprint
        if version is None:
            return
        log.versions.append(version.ref)
        self.say(f"dataset {version.ref}: {version.rows} rows"
                 + (f", drift in {', '.join(version.drifted_columns)}" if version.drifted else ""))
        if version.drifted:
            report = version.drift_report()
            notify_all(build_notifiers(self.settings.notify), Event(
                kind="drift", title=f"podium: drift in dataset {version.ref}",
                text=report.message if report is not None else "drift flagged",
                payload={"dataset": dataset, "version": version.version,
                         "drifted_columns": list(version.drifted_columns)}))

    def _queue_versions(self, binding: Binding, log: WatchLog) -> None:
        for version in self.datasets.versions(binding.dataset):
            if version.created_at < binding.bound_at:
                continue  # versions from before the binding are not news
            job = self.pipelines.enqueue(binding.pipeline, f"version:{version.version}", version.version,
                                         dataset=binding.dataset)
            if job is not None:
                log.queued.append(job.id)
                self.say(f"queued job {job.id}: {binding.pipeline} on {job.ref}")

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
        job = self.pipelines.enqueue(binding.pipeline, f"schedule:{due.isoformat()}", versions[-1].version,
                                     dataset=binding.dataset)
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
    @contextmanager
    def _lease(self, job: Job) -> Iterator[_Lease]:
        with _Lease(self.pipelines, job, self.owner, self.lease_seconds, self.say) as lease:
            yield lease

    def run_job(self, job: Job) -> str:
        """Run a job this watcher has claimed to its end; returns the run's status (or 'failed')."""
        self.say(f"job {job.id}: running {job.pipeline} on {job.ref}")
        with self._lease(job) as lease:
            try:
                binding = self.pipelines.binding(job.pipeline)
                spec = parse_spec(binding.spec, origin=f"pipeline {job.pipeline}")
                frame = self.datasets.load(job.ref)
                result: RunResult = run_pipeline(
                    spec, self.settings, registry=self.registry, frame=frame, origin=f"dataset {job.ref}",
                    on_run_started=lambda run_id: self._attach(job, run_id),
                    data_note=self._data_note(job.ref), fence=lease.check, dataset=job.ref, owner=self.owner)
            except Exception as exc:  # the job fails; the watcher goes on
                if not lease.lost.is_set():
                    self.pipelines.finish(job.id, owner=self.owner, error=f"{type(exc).__name__}: {exc}"[:1000])
                self.say(f"job {job.id}: failed: {exc}")
                return "failed"
            failpoints.reach("watch.ran")
            if not self.pipelines.finish(job.id, owner=self.owner):
                self.say(f"job {job.id}: finished here, but another watcher had taken it back")
        self.say(f"job {job.id}: {result.status}"
                 + (f" {result.model}:{result.version}" if result.version is not None else ""))
        return result.status

    def _attach(self, job: Job, run_id: str) -> None:
        if not self.pipelines.attach_run(job.id, run_id, owner=self.owner):
            raise LeaseLost(f"job {job.id} was taken back by another watcher before its run started.")
