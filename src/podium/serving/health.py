"""Whether a worker can reach its registry, as ``/readyz`` reports it.

A worker needs the registry for two things after it has started: key checks and alias
moves. When the registry cannot be reached it keeps answering with the model versions it
has loaded and the key verdicts it knew (see ``KeyChecker``) — *degraded* — for at most
``grace`` seconds; after that it says it is not ready, so that a load balancer takes it out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

__all__ = ["RegistryHealth", "Health"]

Health = Literal["ok", "degraded", "down"]


class RegistryHealth:
    """Failures and successes of talking to the registry, told by whoever talks to it."""

    def __init__(self, grace: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.grace = grace
        self._clock = clock
        self._lock = threading.Lock()
        self._failing_since: float | None = None
        self._reason = ""

    def succeeded(self) -> None:
        with self._lock:
            self._failing_since = None
            self._reason = ""

    def failed(self, exc: BaseException) -> None:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        with self._lock:
            if self._failing_since is None:
                self._failing_since = self._clock()
            self._reason = f"{type(exc).__name__}: {text[:200]}"

    def state(self) -> tuple[Health, str | None]:
        """``ok``; ``degraded`` (unreachable for less than ``grace`` s) or ``down``, with the reason."""
        with self._lock:
            since, reason = self._failing_since, self._reason
        if since is None:
            return "ok", None
        seconds = self._clock() - since
        health: Health = "degraded" if seconds < self.grace else "down"
        return health, (f"registry unreachable for {seconds:.0f}s (grace {self.grace:.0f}s): {reason}; "
                        "serving the loaded model versions and the key verdicts known before")
