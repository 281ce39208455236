"""Runs started from the console: each in a worker process, its events in a file of its own.

A job is a folder under ``.podium/console/jobs/ID``: ``spec.yaml`` (what to run),
``events.jsonl`` (one JSON event a line, appended and flushed by the worker; an event's id
is its line number, so any process can read them in order and resume after a given id) and
``result.json`` once the run ended. The worker is a child process that ends with the console.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium._internal.atomic import atomic_write_text
from podium.errors import NotFoundError

__all__ = ["Job", "JobStore", "read_events"]

#: the kind of the last event of every run
END = "end"


@dataclass(frozen=True)
class Job:
    """A run the console started: its folder and (once the worker ran) its registry run id."""

    id: str
    folder: Path

    @property
    def events_path(self) -> Path:
        return self.folder / "events.jsonl"

    @property
    def result_path(self) -> Path:
        return self.folder / "result.json"

    def result(self) -> dict[str, Any] | None:
        """The end state the worker wrote, or None while it runs."""
        try:
            return dict(json.loads(self.result_path.read_text()))
        except (FileNotFoundError, ValueError):
            return None

    def status(self) -> dict[str, Any]:
        """``{"run_id", "status", ...}``: running, or the run's outcome."""
        result = self.result()
        events = read_events(self.events_path)
        started = next((e for e in events if e["type"] == "run_started"), None)
        base: dict[str, Any] = {"run_id": self.id, "registry_run_id": started["registry_run_id"] if started else None,
                                "events": len(events)}
        if result is None:
            return {**base, "status": "running"}
        return {**base, **result, "run_id": self.id}


    def worker_alive(self) -> bool:
        """Whether the job's worker process still runs."""
        try:
            pid = int((self.folder / "pid").read_text())
        except (FileNotFoundError, ValueError):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # someone's process: not ours, so not this worker
            return False
        try:  # a recycled pid is another program
            return b"podium.console.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return True  # no /proc: the pid answering is all there is to go on

    def settle(self, why: str) -> bool:
        """Record that the run ended without its worker saying how (once: False if it was settled)."""
        if self.result() is not None:
            return False
        try:
            os.close(os.open(self.folder / "settled", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return False
        append_event(self.events_path, {"type": "error", "message": why})
        atomic_write_text(self.result_path, json.dumps({"status": "failed", "error": why}))
        append_event(self.events_path, {"type": END, "status": "failed"})
        return True


def read_events(path: Path, after: int = 0) -> list[dict[str, Any]]:
    """The complete events of a job after event id ``after`` (a line being written is left out)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return []
    events: list[dict[str, Any]] = []
    for number, line in enumerate(raw.split(b"\n")[:-1], start=1):  # the last piece has no newline yet
        if number > after:
            events.append({**json.loads(line), "id": number})
    return events


class JobStore:
    """Starts workers and finds jobs; ``close`` ends the workers still running."""

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir
        self.root = project_dir / ".podium" / "console" / "jobs"
        self._workers: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def start(self, spec_yaml: str, *, origin: str, dataset: str | None = None) -> Job:
        """Start a worker process for a validated spec; returns at once.

        ``dataset`` (``sales:3``): train on that dataset version instead of the spec's source.
        """
        job_id = uuid.uuid4().hex[:16]
        job = Job(job_id, self.root / job_id)
        job.folder.mkdir(parents=True)
        (job.folder / "spec.yaml").write_text(spec_yaml)
        (job.folder / "origin").write_text(origin)
        if dataset is not None:
            (job.folder / "dataset").write_text(dataset)
        log = (job.folder / "worker.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "podium.console.worker", str(job.folder), str(self.project_dir), str(os.getpid())],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.project_dir)
        log.close()
        (job.folder / "pid").write_text(str(process.pid))
        with self._lock:
            self._workers[job.id] = process
        threading.Thread(target=self._reap, args=(job, process), daemon=True, name=f"job-{job.id}").start()
        return job

    def _reap(self, job: Job, process: subprocess.Popen[bytes]) -> None:
        code = process.wait()
        with self._lock:
            self._workers.pop(job.id, None)
        job.settle(f"the worker process ended (exit code {code}) before the run did")

    def settle_orphans(self) -> list[Job]:
        """End the jobs whose worker is gone without a result (a console that was killed); returns them."""
        settled = []
        for job in self.list():
            if job.result() is None and not job.worker_alive():
                if job.settle("the console stopped while the run was going; start it again"):
                    settled.append(job)
        return settled

    def get(self, job_id: str) -> Job:
        """A job by id; NotFoundError when the console never started it."""
        folder = self.root / job_id
        if not job_id.isalnum() or not folder.is_dir():
            raise NotFoundError(f"no console run '{job_id}'.", hint="GET /api/runs lists the runs")
        return Job(job_id, folder)

    def list(self) -> list[Job]:
        """Every job, newest first."""
        if not self.root.is_dir():
            return []
        folders = sorted((p for p in self.root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
        return [Job(p.name, p) for p in folders]

    def close(self) -> None:
        """End the workers still running (they also end on their own when this process dies)."""
        with self._lock:
            workers = list(self._workers.values())
        for process in workers:
            process.terminate()
        for process in workers:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def append_event(path: Path, event: dict[str, Any]) -> None:
    """Append one event as one line (one write, flushed: a reader sees it whole or not at all)."""
    line = (json.dumps(event, default=str) + "\n").encode()
    with path.open("ab") as handle:
        handle.write(line)
        handle.flush()
