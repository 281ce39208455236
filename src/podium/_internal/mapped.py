"""An object's arrays moved into one read-only memory-mapped file that worker processes share.

Pickle protocol 5 hands every contiguous array buffer out of band (PEP 574): NumPy arrays,
pandas blocks, categorical codes, datetimes. ``map_arrays`` writes those buffers once into an
unnamed temporary file (``O_TMPFILE`` on Linux; elsewhere a file unlinked as soon as it is
created), maps it read-only and rebuilds the object on the mapping, without copying.

What that buys: the arrays live once, in the page cache, whatever number of processes forked
from this one read them (a forked child's page tables carry no part of a shared file mapping,
so a worker's resident size counts only the pages it touches, not the whole data as with
fork's copy-on-write heap); the kernel may drop clean pages under pressure and read them
again. The file has no name: nothing is left behind, however the processes end; it is freed
when the last array built on it is.
"""

from __future__ import annotations

import mmap
import pickle
import tempfile
from typing import TypeVar

__all__ = ["map_arrays"]

T = TypeVar("T")

#: buffers start on cache-line boundaries (NumPy's SIMD loops prefer aligned data)
_ALIGN = 64


def map_arrays(obj: T, *, folder: str | None = None) -> T:
    """A copy of ``obj`` whose contiguous arrays are read-only views of a memory-mapped file
    (in ``folder``, default the system's temporary folder). ``obj`` itself is unchanged; drop
    it to free its own arrays. An object without such arrays comes back as it is."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    spans: list[tuple[int, int]] = []
    end = 0
    with tempfile.TemporaryFile(dir=folder) as file:
        for buffer in buffers:
            raw = buffer.raw()
            start = -(-end // _ALIGN) * _ALIGN
            file.seek(start)
            file.write(raw)
            spans.append((start, raw.nbytes))
            end = start + raw.nbytes
            buffer.release()
        if end == 0:
            return obj
        file.flush()
        mapping = mmap.mmap(file.fileno(), end, access=mmap.ACCESS_READ)
    del buffers
    whole = memoryview(mapping)  # every array keeps it (and so the mapping) alive
    rebuilt: T = pickle.loads(head, buffers=[whole[start:start + size] for start, size in spans])
    return rebuilt

