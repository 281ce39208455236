"""What the service writes down: a JSON-lines access log and a sample of its predictions.

Access log lines are written with one ``os.write`` each, so lines from several worker
processes sharing stdout or a file never interleave. Sampled predictions are buffered and
written to the registry database by a background thread, off the request path.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from podium._internal.periodic import Periodic

__all__ = ["AccessLog", "PredictionSampler"]

logger = logging.getLogger("podium.serving")


class AccessLog:
    """One JSON object a line: time, request id, method, path, status, latency, model, version."""

    def __init__(self, target: str | None) -> None:
        self._fd: int | None = None
        self._owned = False
        if target == "-":
            self._fd = 1
        elif target:
            self._fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._owned = True

    @property
    def enabled(self) -> bool:
        return self._fd is not None

    def write(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, orjson.dumps(record, default=str) + b"\n")
        except OSError:  # a closed stdout must not fail the request
            pass

    def close(self) -> None:
        if self._owned and self._fd is not None:
            os.close(self._fd)
        self._fd = None


class PredictionSampler:
    """Keeps a random share of requests and hands them to ``write`` in batches, every second.

    At most ``max_rows_per_interval`` rows are kept per interval, so that a busy service logs
    a sample of bounded cost instead of a share of unbounded cost; the rest are counted in
    ``skipped``. The records are built by the writing thread, not on the request path.
    """

    def __init__(self, write: Callable[[list[dict[str, Any]]], Any] | None, rate: float, *,
                 interval: float = 1.0, max_rows_per_interval: int = 200) -> None:
        self._write = write
        self.rate = rate if write is not None else 0.0
        self.interval = interval
        self.max_rows = max_rows_per_interval
        self._pending: list[tuple[Any, ...]] = []
        self._rows = 0
        self._lock = threading.Lock()
        self._thread = Periodic(self.flush, interval, name="podium-prediction-log", timeout=5)
        self.dropped = 0  # sampled but not written (the store failed)
        self.skipped = 0  # sampled but over the interval's cap

    def offer(self, model: str, version: int, request_id: str, columns: Sequence[str],
              rows: Sequence[Sequence[Any]], outputs: Sequence[dict[str, Any]]) -> None:
        """Log this request's rows with probability ``rate``."""
        if self.rate <= 0 or (self.rate < 1 and random.random() >= self.rate):
            return
        with self._lock:
            if self._rows + len(rows) > self.max_rows:
                self.skipped += len(rows)
                return
            self._rows += len(rows)
            self._pending.append((datetime.now(UTC), model, version, request_id, columns, rows, outputs))

    def _records(self, pending: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        return [{"time": now, "model": model, "version": version, "request_id": request_id,
                 "inputs": dict(zip(columns, row)), "outputs": out}
                for now, model, version, request_id, columns, rows, outputs in pending
                for row, out in zip(rows, outputs)]

    def start(self) -> None:
        if self.rate > 0:
            self._thread.start()

    def flush(self) -> int:
        """Write what is buffered now; returns the number of records written."""
        with self._lock:
            pending, self._pending, self._rows = self._pending, [], 0
        if not pending or self._write is None:
            return 0
        records = self._records(pending)
        try:
            self._write(records)
        except Exception as exc:  # noqa: BLE001  logging predictions must never break serving
            self.dropped += len(records)
            logger.warning("could not write %d sampled predictions: %s", len(records), exc)
            return 0
        return len(records)

    def close(self) -> None:
        self._thread.stop()
        self.flush()
