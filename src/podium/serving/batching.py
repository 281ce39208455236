"""Micro-batching: requests that arrive while the model is busy are scored in one call.

A scikit-learn pipeline costs about the same for one row as for a hundred (its per-call
overhead dominates), so under load the rows of every request waiting for the model are joined
into one call. Nothing waits on purpose: an idle model scores a request as soon as it comes,
so a lone client sees no added latency.

The queue is bounded: when more than ``max_queue_rows`` rows already wait, a submission is
refused at once with ``Overloaded`` (the service answers 503 with ``Retry-After``) rather
than queued behind work it would time out waiting for. A lone request is always taken, even
one larger than the bound.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

__all__ = ["MicroBatcher", "Overloaded"]

Rows = Sequence[Sequence[Any]]
Results = Sequence[dict[str, Any]]  # sliced by the batcher: a list, or ``Predictions``


class Overloaded(Exception):
    """The queue holds too many rows already: shed this request."""


class MicroBatcher:
    """Queues submissions (lists of rows) and scores them together on ``executor``.

    ``join`` makes one submission of several (default: their rows in one list); ``predict``'s
    answer is sliced back into each submission's share.
    """

    def __init__(self, predict: Callable[[Rows], Results], executor: Executor, *,
                 max_rows: int = 256, max_queue_rows: int = 10_000,
                 observe: Callable[[int], None] | None = None,
                 join: Callable[[list[Any]], Any] | None = None) -> None:
        self.predict = predict
        self.join = join or (lambda parts: [row for part in parts for row in part])
        self.observe = observe
        self.executor = executor
        self.max_rows = max_rows
        self.max_queue_rows = max_queue_rows
        self._pending: deque[tuple[Rows, asyncio.Future[Results]]] = deque()
        self._queued_rows = 0  # rows in _pending and in the call being made
        self._draining = False
        self.calls = 0  # model calls made, for tests and metrics

    async def submit(self, rows: Rows) -> Results:
        """Score ``rows`` (alone or together with others); raises what scoring them raises."""
        if self._queued_rows and self._queued_rows + len(rows) > self.max_queue_rows:
            raise Overloaded(f"{self._queued_rows} rows are waiting; the queue takes {self.max_queue_rows}")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Results] = loop.create_future()
        self._pending.append((rows, future))
        self._queued_rows += len(rows)
        if not self._draining:
            self._draining = True
            loop.create_task(self._drain())
        return await future

    @property
    def queued_rows(self) -> int:
        """Rows waiting or being scored now."""
        return self._queued_rows

    @property
    def idle(self) -> bool:
        return not self._draining and not self._pending

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch = [self._pending.popleft()]
                size = len(batch[0][0])
                while self._pending and size + len(self._pending[0][0]) <= self.max_rows:
                    size += len(self._pending[0][0])
                    batch.append(self._pending.popleft())
                try:
                    await self._score(loop, batch)
                finally:
                    self._queued_rows -= sum(len(part) for part, _ in batch)
        finally:
            self._draining = False

    async def _score(self, loop: asyncio.AbstractEventLoop,
                     batch: list[tuple[Rows, asyncio.Future[Results]]]) -> None:
        rows = batch[0][0] if len(batch) == 1 else self.join([part for part, _ in batch])
        self.calls += 1
        if self.observe is not None:
            self.observe(len(rows))
        try:
            results = await loop.run_in_executor(self.executor, self.predict, rows)
        except Exception as exc:  # noqa: BLE001  one bad request must not fail the others
            if len(batch) == 1:
                _settle(batch[0][1], exc=exc)
                return
            for part, future in batch:  # score each request alone to find the bad one
                try:
                    _settle(future, await loop.run_in_executor(self.executor, self.predict, part))
                except Exception as single:  # noqa: BLE001
                    _settle(future, exc=single)
            return
        start = 0
        for part, future in batch:
            _settle(future, results[start:start + len(part)])
            start += len(part)


def _settle(future: asyncio.Future[Results], value: Results | None = None, *,
            exc: BaseException | None = None) -> None:
    if future.done():  # the client went away
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(value if value is not None else [])
