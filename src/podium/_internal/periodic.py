"""A daemon thread that calls one function every so many seconds until it is stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Periodic"]


class Periodic:
    """Calls ``tick`` every ``interval`` seconds on a daemon thread named ``name``.

    ``immediately`` calls it once as the thread starts, before the first wait. ``stop`` wakes
    the thread at once and waits up to ``timeout`` seconds for a tick in progress to end.
    """

    def __init__(self, tick: Callable[[], object], interval: float, *, name: str, immediately: bool = False,
                 timeout: float = 10.0) -> None:
        self.tick = tick
        self.interval = interval
        self.name = name
        self.immediately = immediately
        self.timeout = timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once: a second call does nothing)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout)
            self._thread = None

    def _run(self) -> None:
        if self.immediately:
            self.tick()
        while not self._stop.wait(self.interval):
            self.tick()
