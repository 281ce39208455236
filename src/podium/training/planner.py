"""Which trial to run next: every family's presets first, then search where it pays.

With a trial budget the order is fixed in advance (same seed, same trials: reproducible).
With a time budget it adapts: after the first round, random configurations are drawn
mostly for the families that rank best so far.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from podium.candidates import Candidate
from podium.training.leaderboard import Trial, TrialResult

__all__ = ["Planner", "FAMILY_ORDER"]

#: strong and cheap first, so that a short budget still meets the best families
FAMILY_ORDER = ("lightgbm", "logistic_regression", "ridge", "random_forest", "hist_gradient_boosting",
                "xgboost", "extra_trees", "mlp", "knn", "decision_tree",
                # forecasters: the baseline and two quick fits (theta; lightgbm_lags, a second or two and
                # the best single family on most of the public suite), then the recurrent nets early
                # (the slowest: under a time budget they need the most of it), the others between
                "seasonal_naive", "theta", "lightgbm_lags", "gru", "ets", "lstm", "arima", "statistical")


class Planner:
    def __init__(self, candidates: list[Candidate], *, seed: int, adaptive: bool, device: str = "cpu") -> None:
        rank = {name: i for i, name in enumerate(FAMILY_ORDER)}
        self.candidates = sorted(candidates, key=lambda c: rank.get(c.name, len(rank)))
        self.adaptive = adaptive
        self._rng = random.Random(seed)
        self._seed = seed
        self._device = device
        self._streams: dict[str, Iterator[dict[str, Any]]] = {
            c.name: c.configurations(random.Random(f"{seed}:{c.name}")) for c in self.candidates}
        self._next_id = 0
        self._queue: list[tuple[str, dict[str, Any]]] = []
        self._exhausted: set[str] = set()
        # round 1: each family's first preset; round 2: the other presets
        for c in self.candidates:
            self._queue.append((c.name, next(self._streams[c.name])))
        for c in self.candidates:
            for _ in c.presets[1:]:
                self._queue.append((c.name, next(self._streams[c.name])))

    def next(self, results: list[TrialResult]) -> Trial | None:
        """The next trial, or None when every family is exhausted."""
        while self._queue:
            name, params = self._queue.pop(0)
            return self._make(name, params)
        families = self._ranked(results) if self.adaptive else [c.name for c in self.candidates]
        families = [f for f in families if f not in self._exhausted]
        if not families:
            return None
        if self.adaptive:  # the leader most often, the runners-up sometimes
            weights = [1.0 / (i + 1) ** 2 for i in range(len(families))]
            name = self._rng.choices(families, weights)[0]
        else:
            name = families[self._next_id % len(families)]
        drawn = next(self._streams[name], None)
        if drawn is None:
            self._exhausted.add(name)
            return self.next(results)
        return self._make(name, drawn)

    def _make(self, name: str, params: dict[str, Any]) -> Trial:
        trial = Trial(self._next_id, name, params, self._seed, self._device)
        self._next_id += 1
        return trial

    def _ranked(self, results: list[TrialResult]) -> list[str]:
        best: dict[str, float] = {}
        for r in results:
            if r.status == "ok" and r.score is not None:
                best[r.candidate] = max(best.get(r.candidate, -float("inf")), r.score)
        searchable = [c.name for c in self.candidates if c.space and c.name in best]
        return sorted(searchable, key=lambda n: -best[n])
