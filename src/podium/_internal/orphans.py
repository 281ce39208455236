"""Child processes that end with their parent, however the parent ends.

A process-pool worker blocked on its task pipe never sees the pipe close when its parent
is killed (a forked worker holds both ends), and a Python-level SIGTERM handler inherited
from the parent may ignore SIGTERM. ``exit_with_parent``, called first thing in the child,
asks Linux to signal the child when its parent dies (``PR_SET_PDEATHSIG``) and starts a
watchdog thread that polls the parent's pid, the portable fallback.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

__all__ = ["exit_with_parent"]

_PR_SET_PDEATHSIG = 1


def exit_with_parent(parent_pid: int, *, sig: int = signal.SIGKILL, grace: float = 10.0,
                     interval: float = 0.5) -> None:
    """End this process with ``sig`` once ``parent_pid`` is no longer its parent.

    ``sig`` SIGTERM lets a server close gracefully; if the process still lives ``grace``
    seconds later, the watchdog ends it. Linux's signal follows the thread that started
    this process, so call it only in children of threads that outlive them (main threads,
    or the thread that also shuts the pool down).
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl: the watchdog alone
            pass
    watchdog = threading.Thread(target=_watch, args=(parent_pid, int(sig), grace, interval),
                                name="podium-parent-watchdog", daemon=True)
    watchdog.start()
    if os.getppid() != parent_pid:  # the parent died before the signal was asked for
        os.kill(os.getpid(), sig)


def _watch(parent_pid: int, sig: int, grace: float, interval: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(interval)  # polling is the point: nothing else tells an orphan
    os.kill(os.getpid(), sig)
    time.sleep(grace)
    os._exit(1)
