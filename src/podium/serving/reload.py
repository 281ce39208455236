"""Following an alias: when ``churn@champion`` moves, every worker starts serving the new version.

Each worker asks the registry every ``interval`` seconds which version its aliases point at
(one cheap query). When one has moved, the new version is loaded, checked and warmed up in
this background thread while the old one keeps answering, then swapped in with one
reference assignment: requests that already started finish on the old version, no request
fails and nothing restarts. A version that fails to load is retried after a pause, and the
old one keeps serving. Each poll also tells ``health`` whether the registry answered (a
service that follows no alias still asks about its pinned versions, for that).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from podium._internal.periodic import Periodic
from podium.errors import PodiumError
from podium.serving.health import RegistryHealth
from podium.serving.served import ModelSlot, ServedModel

__all__ = ["AliasWatcher"]

logger = logging.getLogger("podium.serving")

_RETRY_FAILED_AFTER = 60.0


class AliasWatcher:
    """Polls the aliases of ``slots`` and swaps in new versions built by ``build(ref, version)``."""

    def __init__(self, registry: Any, slots: Sequence[ModelSlot], *, interval: float,
                 build: Callable[[str, int], ServedModel],
                 on_swap: Callable[[ModelSlot, ServedModel, ServedModel], None] | None = None,
                 on_failure: Callable[[ModelSlot, int, Exception], None] | None = None,
                 health: RegistryHealth | None = None) -> None:
        self.registry = registry
        self.slots = [s for s in slots if s.follows]
        self.health = health
        self._probe = None if self.slots or health is None or not slots else slots[0].ref
        self.interval = interval
        self.build = build
        self.on_swap = on_swap
        self.on_failure = on_failure
        self._failed: dict[tuple[str, int], float] = {}
        self._thread = Periodic(self.poll_once, interval, name="podium-alias-watcher")

    def start(self) -> None:
        if self.interval > 0 and (self.slots or self._probe):
            self._thread.start()

    def stop(self) -> None:
        self._thread.stop()

    def poll_once(self) -> list[tuple[str, int, int]]:
        """Check every followed alias once; returns the swaps made (model, old, new)."""
        swaps: list[tuple[str, int, int]] = []
        if self._probe is not None:
            self._resolve(self._probe)
        for slot in self.slots:
            found = self._resolve(slot.ref)
            if found is None:
                continue
            version = found
            old = slot.current
            if version == old.version:
                continue
            failed_at = self._failed.get((slot.ref, version))
            if failed_at is not None and time.monotonic() - failed_at < _RETRY_FAILED_AFTER:
                continue
            try:
                new = self.build(slot.ref, version)
            except Exception as exc:  # noqa: BLE001  the old version keeps serving
                self._failed[(slot.ref, version)] = time.monotonic()
                logger.error("could not load %s version %d; still serving version %d: %s",
                             old.name, version, old.version, exc)
                if self.on_failure is not None:
                    self.on_failure(slot, version, exc)
                continue
            slot.current = new  # the swap: one reference assignment
            swaps.append((old.name, old.version, new.version))
            logger.info("now serving %s version %d (was %d)", new.name, new.version, old.version)
            if self.on_swap is not None:
                self.on_swap(slot, old, new)
        return swaps

    def _resolve(self, ref: str) -> int | None:
        try:
            version = int(self.registry.resolve(ref).version)
        except Exception as exc:  # noqa: BLE001  a registry hiccup: keep serving, ask again later
            logger.warning("could not resolve '%s': %s", ref, exc)
            if self.health is not None:  # an answer (no such alias) is not an outage
                self.health.succeeded() if isinstance(exc, PodiumError) else self.health.failed(exc)
            return None
        if self.health is not None:
            self.health.succeeded()
        return version
