"""The cores and memory podium counts are those the kernel lets it use: affinity, cgroup quotas
and limits, set for real on child processes (cgroups as root; skipped with the reason elsewhere)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from podium._internal.resources import affordable_workers, memory_headroom, resident_bytes, usable_cores

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux only: affinity and cgroups")

#: what a child reports: the cores, the memory, the workers a run would fork and a service would start
REPORT = """
import json
from podium._internal.resources import memory_headroom, usable_cores
from podium.training.executors import LocalExecutor
from podium.serving.options import ServeOptions
ballast = bytearray(int(BALLAST))  # resident: a run's process holding its data
executor = LocalExecutor()
print(json.dumps({"cores": usable_cores(), "headroom": memory_headroom(), "workers": executor.n_jobs,
                  "note": executor.memory_limited, "asked": LocalExecutor(n_jobs=2).n_jobs,
                  "serving": ServeOptions().resolved_workers}))
"""


def _report(preexec: Callable[[], None] | None = None, *, ballast: int = 0) -> dict:
    out = subprocess.run([sys.executable, "-c", REPORT.replace("BALLAST", str(ballast))], capture_output=True,
                         text=True, check=True, timeout=120, preexec_fn=preexec)
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextmanager
def _cgroup(controller: str, files: dict[str, str]) -> Iterator[Callable[[], None]]:
    """A child of this process's own cgroup for ``controller`` with ``files`` written (v1, or v2
    where the controller is delegated); yields what puts a starting child process in it."""
    if os.geteuid() != 0:
        pytest.skip("making a cgroup needs root")
    own = _own_cgroup(controller)
    if own is None:
        pytest.skip(f"no {controller} cgroup of this process to make a child in (not delegated)")
    folder = own / f"podium-test-{os.getpid()}-{time.monotonic_ns()}"
    try:
        folder.mkdir()
        for name, value in files.items():
            (folder / name).write_text(value)
    except OSError as exc:
        if folder.is_dir():
            folder.rmdir()
        pytest.skip(f"cannot make a {controller} cgroup here: {exc}")
    try:
        yield lambda: (folder / "cgroup.procs").write_text(str(os.getpid()))
    finally:
        for _ in range(50):  # the child has exited; the kernel empties the group a moment later
            try:
                folder.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def _own_cgroup(controller: str) -> Path | None:
    """This process's cgroup folder for ``controller``: v1's controller mount, or v2's unified tree
    where the controller is enabled for children."""
    root = Path("/sys/fs/cgroup")
    for entry in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = entry.split(":", 2)
        if controllers and controller in controllers.split(","):
            mount = next((m for m in (root / controllers, root / controller) if m.is_dir()), None)
            return None if mount is None else mount / path.lstrip("/")
        if not controllers and (root / "cgroup.controllers").exists():
            own = root / path.lstrip("/")
            enabled = (own / "cgroup.subtree_control").read_text().split() if own.is_dir() else []
            return own if controller in enabled else None
    return None


def test_this_process_counts_the_cores_it_may_run_on():
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)
    first = min(os.sched_getaffinity(0))
    report = _report(lambda: os.sched_setaffinity(0, {first}))  # as `taskset -c N` or a cpuset would
    assert report["cores"] == 1
    assert report["workers"] == 1 and report["serving"] == 1  # one trial worker, one serving worker
    assert report["asked"] == 2  # what a spec or --workers asks for is what it gets


def test_a_cgroup_cpu_quota_caps_the_cores():
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core here: a quota of half a core changes nothing")
    v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    quota = {"cpu.max": "50000 100000"} if v2 else {"cpu.cfs_quota_us": "50000"}  # half a core
    with _cgroup("cpu", quota) as enter:
        report = _report(enter)
    assert report["cores"] == 1  # rounded up, as joblib rounds: half a core is one worker
    assert report["workers"] == 1 and report["serving"] == 1


def test_a_memory_limit_bounds_the_trial_workers_and_says_so():
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core here: one worker whatever the memory")
    v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    limit = 600 * 2**20
    with _cgroup("memory", {"memory.max" if v2 else "memory.limit_in_bytes": str(limit)}) as enter:
        # ~430 MB resident, a worker budgeted at half that: less than two fit in the ~170 MB left
        report = _report(enter, ballast=400 * 2**20)
    assert 0 < report["headroom"] < limit
    assert report["workers"] == 1
    assert report["note"].startswith(f"1 trial worker for {len(os.sched_getaffinity(0))} cores")
    assert report["asked"] == 2  # n_jobs set: the user decides


def _mem_available() -> int:
    return next(int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemAvailable:"))


def test_without_a_limit_the_memory_left_is_what_the_machine_has():
    before = _mem_available()
    room, resident = memory_headroom(), resident_bytes()
    after = _mem_available()
    assert room is not None and resident is not None
    assert 0 < room <= max(before, after) * 1.05  # never more than the machine has (it moves meanwhile)
    assert 10 * 2**20 < resident < 64 * 2**30


@pytest.mark.parametrize(("cores", "each", "room", "expected"), [
    (8, 300, 2000, 6),       # the memory decides
    (2, 300, 2000, 2),       # the cores decide
    (8, 300, 100, 1),        # never none
    (4, None, 100, 4),       # unknown memory: a worker a core
    (4, 300, None, 4),
])
def test_affordable_workers(cores: int, each: int | None, room: int | None, expected: int):
    assert affordable_workers(cores, each, room) == expected
