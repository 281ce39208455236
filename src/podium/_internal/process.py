"""This process: when it started, and giving its freed memory back to the operating system.

After a trial's model is dropped, CPython frees its objects but glibc's allocator keeps the
pages for reuse: the process's resident size stays at its peak. ``malloc_trim`` returns them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import os
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["process_started", "release_memory"]


def process_started() -> float:
    """When this process started (Unix time; Linux reads /proc, elsewhere: now)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return min(time.time(), boot + ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, StopIteration):
        return time.time()


@functools.cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_memory() -> None:
    """Collect garbage, then hand the allocators' free pages back: glibc's (elsewhere a no-op)
    and, once pyarrow is loaded, its memory pool's (mimalloc or jemalloc keep what a Parquet
    read freed: ~100 MB after reading a million rows, and a forked worker counts it again)."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
    arrow: Any = sys.modules.get("pyarrow")  # never imported for this
    if arrow is not None and hasattr(arrow, "default_memory_pool"):
        pool = arrow.default_memory_pool()
        if hasattr(pool, "release_unused"):
            pool.release_unused()
