"""Console runs whose worker is gone end, with a reason, so their event streams end too."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from podium.console.jobs import JobStore, read_events


def _wait(condition, seconds: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_a_killed_worker_ends_its_run_once(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    job = store.start("source: x.csv\ntarget: y\n", origin="test")
    pid = int((job.folder / "pid").read_text())
    _wait(job.worker_alive)
    import os

    os.kill(pid, signal.SIGKILL)
    _wait(lambda: job.result() is not None)
    events = read_events(job.events_path)
    assert events[-1]["type"] == "end" and events[-1]["status"] == "failed"
    assert job.status()["status"] == "failed"
    assert not job.settle("again")  # once only
    assert [e["type"] for e in read_events(job.events_path)].count("end") == 1


def test_a_new_console_settles_the_runs_a_killed_one_left(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    folder = tmp_path / ".podium" / "console" / "jobs" / "abc123"
    folder.mkdir(parents=True)
    (folder / "pid").write_text(str(gone.pid))
    (folder / "events.jsonl").write_text(json.dumps({"type": "queued"}) + "\n")
    settled = JobStore(tmp_path).settle_orphans()
    assert [j.id for j in settled] == ["abc123"]
    events = read_events(folder / "events.jsonl")
    assert [e["type"] for e in events] == ["queued", "error", "end"]
    assert "console stopped" in events[1]["message"]
    assert JobStore(tmp_path).settle_orphans() == []


@pytest.mark.parametrize("after", [0, 1])
def test_events_resume_after_an_id_and_skip_a_line_being_written(tmp_path: Path, after: int) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"type": "a"}\n{"type": "b"}\n{"type": "c"')  # the last line is not complete yet
    assert [e["id"] for e in read_events(path, after)] == [1, 2][after:]
