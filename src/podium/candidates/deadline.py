"""A fit deadline that iterative families check while they train.

The trainer sets it around each trial (in the worker process); a boosted model stops
adding trees when it passes, so a trial ends near its time limit instead of being killed.
scikit-learn's ensembles, which take no callback, grow in rounds instead (``GrowsToDeadline``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_deadline: float | None = None
_selection = False


@contextmanager
def fit_deadline(at: float | None) -> Iterator[None]:
    """Within the block, ``time.time() > at`` means: stop training, keep what you have."""
    global _deadline
    previous, _deadline = _deadline, at
    try:
        yield
    finally:
        _deadline = previous


@contextmanager
def selection_fit() -> Iterator[None]:
    """Within the block, a fit is a trial's: its model is scored and dropped, never shipped, so a
    family may skip what only a shipped model needs (a booster's refit on its early-stopping rows)."""
    global _selection
    previous, _selection = _selection, True
    try:
        yield
    finally:
        _selection = previous


def for_selection() -> bool:
    """Whether this fit is a trial's (``selection_fit``)."""
    return _selection


def past_deadline() -> bool:
    return _deadline is not None and time.time() > _deadline


class GrowsToDeadline:
    """A mixin for a scikit-learn ensemble that can grow with ``warm_start`` (forests add trees,
    histogram boosting adds iterations): under a fit deadline it grows in rounds, each continuing
    the last (scikit-learn keeps the seeds, the validation split and the early stopping: the same
    model as one fit), each twice the size or as many members more as the time left fits (by
    what each took so far), and stops at the deadline with fewer members. Without a deadline it
    is the library's own fit."""

    #: the parameter that counts the members, and the first round's size (small: on large data
    #: one fully grown tree can take seconds, and the first round runs whatever the deadline)
    grows: str = "n_estimators"
    first_round: int = 4

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        if _deadline is None:
            return super().fit(X, y, sample_weight=sample_weight)  # type: ignore[misc]
        planned, warm = getattr(self, self.grows), getattr(self, "warm_start")
        size, start = min(planned, self.first_round), time.time()
        try:
            setattr(self, "warm_start", True)
            while True:
                setattr(self, self.grows, size)
                super().fit(X, y, sample_weight=sample_weight)  # type: ignore[misc]
                if size >= planned or self._stopped_early(size) or past_deadline():
                    return self
                # the next round: twice as big, or as many members as the time left fits (so it ends near the deadline)
                each = (time.time() - start) / size
                fits = int((_deadline - time.time()) / each) if each > 0 else planned
                if fits < 1:
                    return self
                size = min(planned, 2 * size, size + fits)
        finally:
            setattr(self, self.grows, planned)
            setattr(self, "warm_start", warm)

    def _stopped_early(self, size: int) -> bool:
        """Whether the last round stopped before ``size`` by itself (early stopping)."""
        return int(getattr(self, "n_iter_", size)) < size
