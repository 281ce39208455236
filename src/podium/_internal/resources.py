"""What this process may use of the machine: its cores and its memory, as a container sees them.

``os.cpu_count()`` counts the machine's cores: in a container allowed 2 CPUs on a 64-core node, a
worker a core would start 64 processes, and a memory limit would end them all. Here the cores are
those the process may run on (its CPU affinity, ``taskset``/cpuset), capped by its cgroup's CPU
quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``, rounded up as joblib does); the memory is what its
cgroup's limit leaves once the page cache it could drop is set aside (what Kubernetes calls the
working set), and never more than the machine's ``MemAvailable``. Both read the cgroup of this
process and of each of its ancestors: the tightest limit on the path holds.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["usable_cores", "memory_headroom", "resident_bytes", "affordable_workers"]

_CGROUP_ROOT = Path("/sys/fs/cgroup")
#: a cgroup v1 limit this large or larger means none (the kernel's "unlimited", page-aligned)
_UNLIMITED = 2**60


@functools.cache
def usable_cores() -> int:
    """The cores this process may use: its CPU affinity, capped by its cgroups' CPU quotas (read
    once a process: a run's plans count on one figure)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    for quota in _cpu_quotas():
        cores = min(cores, math.ceil(quota))
    return max(1, cores)


def memory_headroom() -> int | None:
    """Bytes of memory this process tree may still take: the least, over its cgroup and the
    cgroup's ancestors, of the limit less the charge that is not reclaimable page cache, and at
    most the machine's ``MemAvailable``; None where neither can be read (not Linux)."""
    room = [limit - used for limit, used in _memory_charges()]
    available = _mem_available()
    if available is not None:
        room.append(available)
    return max(0, min(room)) if room else None


def resident_bytes() -> int | None:
    """This process's resident memory (``/proc/self/statm``); None where it cannot be read."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def affordable_workers(cores: int, per_worker: int | None, headroom: int | None) -> int:
    """How many of ``cores`` workers fit in ``headroom`` bytes at ``per_worker`` each (at least
    one: a run too big for its memory fails on its own, not for want of a worker)."""
    if per_worker is None or headroom is None or per_worker <= 0:
        return max(1, cores)
    return max(1, min(cores, headroom // per_worker))


# -- cgroups -------------------------------------------------------------------------------------
def _cgroup_dirs(controller: str) -> Iterator[Path]:
    """The cgroup folders of this process for ``controller`` (v1) or the unified tree (v2), from
    its own up to the root of the mount; a container's own cgroup is its mount's root."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return
    for line in lines:
        _, controllers, path = line.split(":", 2)
        names = controllers.split(",") if controllers else []
        if controllers == "" and (_CGROUP_ROOT / "cgroup.controllers").exists():
            mount: Path | None = _CGROUP_ROOT  # cgroup v2, unified
        elif controller in names:  # v1: the controller's own mount ("cpu,cpuacct" or "cpu")
            mount = next((m for m in (_CGROUP_ROOT / controllers, _CGROUP_ROOT / controller) if m.is_dir()), None)
        else:
            mount = None
        if mount is None:
            continue
        folder = mount / path.lstrip("/")
        while True:
            if folder.is_dir():  # a path outside this mount namespace's view is not there
                yield folder
            if folder == mount:
                break
            folder = folder.parent
        return


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cpu_quotas() -> Iterator[float]:
    """The CPU quotas, in cores, of this process's cgroups that set one."""
    for folder in _cgroup_dirs("cpu"):
        v2 = _read(folder / "cpu.max")
        if v2 is not None:
            quota, _, period = v2.partition(" ")
            if quota != "max" and period:
                yield max(1e-3, int(quota) / int(period))
            continue
        quota_us, period_us = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
        if quota_us and period_us and int(quota_us) > 0:
            yield max(1e-3, int(quota_us) / int(period_us))


def _memory_charges() -> Iterator[tuple[int, int]]:
    """(limit, charge less its inactive page cache) of this process's cgroups that set a limit."""
    for folder in _cgroup_dirs("memory"):
        limit = _read(folder / "memory.max")
        usage = _read(folder / "memory.current")
        cache_key = "inactive_file"
        if limit is None:  # cgroup v1
            limit, usage, cache_key = (_read(folder / "memory.limit_in_bytes"), _read(folder / "memory.usage_in_bytes"),
                                       "total_inactive_file")
        if not limit or not usage or limit == "max" or int(limit) >= _UNLIMITED:
            continue
        stat = dict(line.split() for line in (_read(folder / "memory.stat") or "").splitlines() if " " in line)
        yield int(limit), max(0, int(usage) - int(stat.get(cache_key, 0)))


def _mem_available() -> int | None:
    text = _read(Path("/proc/meminfo")) or ""
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None
