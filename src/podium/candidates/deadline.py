"""A fit deadline that iterative families check while they train.

The trainer sets it around each trial (in the worker process); a boosted model stops
adding trees when it passes, so a trial ends near its time limit instead of being killed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

_deadline: float | None = None


@contextmanager
def fit_deadline(at: float | None) -> Iterator[None]:
    """Within the block, ``time.time() > at`` means: stop training, keep what you have."""
    global _deadline
    previous, _deadline = _deadline, at
    try:
        yield
    finally:
        _deadline = previous


def deadline_set() -> bool:
    """Whether a deadline holds in this block (a trial's, or a final fit's)."""
    return _deadline is not None


def past_deadline() -> bool:
    return _deadline is not None and time.time() > _deadline
