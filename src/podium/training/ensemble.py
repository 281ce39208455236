"""A weighted ensemble of the best trials, chosen greedily on their holdout predictions.

Caruana et al.'s ensemble selection: start empty, repeatedly add (with replacement) the
trial whose predictions most improve the averaged holdout score. The weights are the
counts. The ensemble is a plain scikit-learn ``VotingClassifier``/``VotingRegressor`` of
the members' whole pipelines, so each member keeps its own preprocessing and the served
model applies exactly what training applied.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from sklearn.ensemble import VotingClassifier, VotingRegressor

from podium.training.leaderboard import Trial, TrialResult
from podium.training.problem import Problem

__all__ = ["ENSEMBLE", "select_ensemble", "ensemble_estimator"]

ENSEMBLE = "ensemble"
_POOL = 12
_ROUNDS = 20


def select_ensemble(problem: Problem, results: list[TrialResult], next_id: int, *,
                    max_member_seconds: float | None = None) -> TrialResult | None:
    """The greedy ensemble of the best trials, as a result with its holdout score; None if it
    is a single trial (nothing to gain). Trials slower to fit than ``max_member_seconds``
    are left out: the ensemble is refitted at the end, within the budget."""
    pool = [r for r in results if r.status == "ok" and _has_predictions(r, problem)
            and (max_member_seconds is None or r.fit_seconds <= max_member_seconds)][:_POOL]
    if len(pool) < 2:
        return None
    metric = problem.metric
    y = problem.y_test.to_numpy()
    classes = problem.classes
    outputs = [r.proba if problem.task != "regression" else r.predictions for r in pool]

    def value_of(mean: np.ndarray) -> float:
        if problem.task == "regression":
            return metric.value(y, mean)
        pred = np.asarray(classes)[mean.argmax(axis=1)]
        return metric.value(y, pred, mean, classes)

    chosen: list[int] = []
    total = np.zeros_like(outputs[0], dtype=float)
    best_score = -np.inf
    for _ in range(_ROUNDS):
        scores = [metric.score(value_of((total + out) / (len(chosen) + 1))) for out in outputs]
        pick = int(np.argmax(scores))  # first best: the better-ranked trial on ties
        if chosen and scores[pick] < best_score:
            break
        chosen.append(pick)
        total += outputs[pick]
        best_score = max(best_score, scores[pick])
    counts = Counter(chosen)
    if len(counts) < 2:
        return None
    members = [pool[i] for i in sorted(counts)]
    weights = [counts[i] for i in sorted(counts)]
    mean = sum(w * (o.proba if problem.task != "regression" else o.predictions)
               for w, o in zip(weights, members)) / sum(weights)
    value = value_of(mean)
    trial = Trial(next_id, ENSEMBLE, {"members": [m.trial.id for m in members], "weights": weights}, 0)
    return TrialResult(
        trial, "ok", value=value, score=metric.score(value), metrics={metric.name: value},
        fit_seconds=sum(m.fit_seconds for m in members),
        predict_ms_per_1000=sum(m.predict_ms_per_1000 or 0.0 for m in members),
        size_bytes=sum(m.size_bytes or 0 for m in members),
    )


def ensemble_estimator(problem: Problem, members: list[tuple[Trial, Any]], weights: list[int]) -> Any:
    """An unfitted voting ensemble of the members' (unfitted) pipelines."""
    estimators = [(f"{t.candidate}_{t.id}", pipeline) for t, pipeline in members]
    if problem.task == "regression":
        return VotingRegressor(estimators, weights=weights)
    return VotingClassifier(estimators, voting="soft", weights=weights)


def _has_predictions(result: TrialResult, problem: Problem) -> bool:
    return (result.proba if problem.task != "regression" else result.predictions) is not None
