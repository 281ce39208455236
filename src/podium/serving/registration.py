"""A service tells the registry it runs: ``podium serve`` keeps a row in the ``services``
table (its URL, the versions it answers with, workers, auth) and renews its heartbeat, so the
console can list the endpoints. Each worker beats for the service (the supervisor stays lean:
it holds no registry); a registry that cannot be reached only delays the next beat.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

from podium._internal.periodic import Periodic
from podium.serving.options import ServeOptions

__all__ = ["Heartbeat", "service_url"]

logger = logging.getLogger("podium.serving")

_WILDCARDS = {"0.0.0.0", "::", ""}


def service_url(host: str, port: int) -> str:
    """The URL the service answers at; a wildcard address is named by this machine's host name."""
    name = socket.gethostname() if host in _WILDCARDS else host
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    return f"http://{name}:{port}"


class Heartbeat:
    """Beats for one service every ``options.heartbeat_interval`` seconds on a daemon thread."""

    def __init__(self, registry: Any, options: ServeOptions, versions: Callable[[], list[Mapping[str, Any]]],
                 *, supervisor_pid: int | None = None) -> None:
        from podium.registry.services import ServiceStore

        assert options.service_id is not None
        self.store = ServiceStore(registry)
        self.options = options
        self.versions = versions
        self.pid = supervisor_pid or os.getppid()
        self._thread = Periodic(self.beat, options.heartbeat_interval, name="podium-heartbeat", immediately=True)
        self._last_failure: str | None = None  # said once, not every beat

    def beat(self) -> bool:
        """Renew the row once; False (logged) when the registry could not be reached."""
        o = self.options
        assert o.service_id is not None
        try:
            self.store.beat(o.service_id, url=service_url(o.host, o.port), host=socket.gethostname(), pid=self.pid,
                            refs=o.refs, models=self.versions(), workers=o.resolved_workers, auth=o.auth,
                            heartbeat_seconds=max(1, round(o.heartbeat_interval)))
        except Exception as exc:  # noqa: BLE001  the service keeps serving; the next beat tries again
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if reason != self._last_failure:
                logger.warning("could not record this service in the registry: %s", reason)
            self._last_failure = reason
            return False
        self._last_failure = None
        return True

    def start(self) -> None:
        if self.options.heartbeat_interval > 0:
            self._thread.start()

    def stop(self) -> None:
        self._thread.stop()
