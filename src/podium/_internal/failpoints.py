"""Failpoints: named places where a crash test may have the process kill itself.

Crash recovery is only believable when a crash can be placed exactly — between registering
a version and moving its alias, say — rather than guessed with a sleep. ``arm`` is called
with the ``test_kill_at`` setting (``PODIUM_TEST_KILL_AT``); ``reach`` at each named place
sends SIGKILL to the process when that place is armed, and does nothing otherwise.
"""

from __future__ import annotations

import os
import signal

__all__ = ["arm", "reach"]

_armed: str | None = None


def arm(point: str | None) -> None:
    """Kill this process when ``point`` is reached (None: never)."""
    global _armed
    _armed = point or None


def reach(point: str) -> None:
    """The process got to ``point``: die here, without cleanup, if it is armed."""
    if _armed is not None and _armed == point:
        os.kill(os.getpid(), signal.SIGKILL)
