"""Successive halving on rows: trials start on a subsample, the best climb to more rows.

Asynchronous (ASHA, Li et al., "A System for Massively Parallel Hyperparameter Tuning",
MLSys 2020): whenever a worker is free, a configuration in the best ``1/eta`` of the trials
finished on its rung is fitted again on the next rung's rows — if the time left allows it —
else a new configuration starts on the first rung. No worker waits for a rung to fill.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from podium.training.budget import ETA
from podium.training.leaderboard import Trial, TrialResult

__all__ = ["Ladder"]


class Ladder:
    """The rungs (train rows, smallest first; the last is every train row) and what climbed."""

    def __init__(self, sizes: tuple[int, ...], *, eta: int = ETA) -> None:
        self.sizes = sizes
        self.eta = eta
        self._promoted: set[int] = set()  # ids of trials whose configuration went up a rung

    @property
    def subsampled(self) -> bool:
        return len(self.sizes) > 1

    def first(self, trial: Trial) -> Trial:
        """A new configuration, on the first rung (on every row when there is one rung)."""
        return replace(trial, rows=self.sizes[0]) if self.subsampled else trial

    def rung(self, result: TrialResult) -> int:
        """The index of the rung a result was measured on."""
        rows = result.trial.rows
        return len(self.sizes) - 1 if rows is None or rows not in self.sizes else self.sizes.index(rows)

    def promotion(self, results: list[TrialResult], next_id: int,
                  fits: Callable[[TrialResult, int], bool]) -> Trial | None:
        """The next configuration to climb a rung (highest rungs first), or None.

        ``fits(result, rows)`` says whether fitting the result's configuration on ``rows``
        rows still ends in time."""
        for k in range(len(self.sizes) - 2, -1, -1):
            done = [r for r in results if r.status == "ok" and r.score is not None and self.rung(r) == k]
            done.sort(key=lambda r: -(r.score or 0.0))
            for result in done[: len(done) // self.eta]:
                if result.trial.id in self._promoted or not fits(result, self.sizes[k + 1]):
                    continue
                self._promoted.add(result.trial.id)
                return replace(result.trial, id=next_id, rows=self.sizes[k + 1])
        return None
