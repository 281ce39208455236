"""A weighted ensemble of the best trials, chosen greedily on their holdout predictions.

Caruana et al.'s ensemble selection: start empty, repeatedly add (with replacement) the
trial whose predictions most improve the averaged holdout score. The weights are the
counts. The ensemble is a plain scikit-learn ``VotingClassifier``/``VotingRegressor`` of
the members' whole pipelines, so each member keeps its own preprocessing and the served
model applies exactly what training applied.

The selection counts what serving costs (each trial's ``serving_us``, the estimated CPU µs a
row of its compiled graph): members are added only while the ensemble stays within ``max_us``
or within ``COST_FACTOR`` times what the best trial costs alone, where that is more (an
ensemble may cost twice its champion: on diamonds and digits the best ensembles pair the
champion with one or two models of its kind); among picks whose score is within ``MIN_GAIN``
of the best pick the one adding least cost wins (adding weight to a member already in adds
none); and once chosen, members whose removal costs less than ``MIN_GAIN`` of the score are
dropped, the most expensive first.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from sklearn.ensemble import VotingClassifier, VotingRegressor

from podium.training.leaderboard import Trial, TrialResult
from podium.training.problem import Problem

__all__ = ["ENSEMBLE", "MIN_GAIN", "COST_FACTOR", "cost_limit", "select_ensemble", "ensemble_estimator", "diverse"]

ENSEMBLE = "ensemble"
_POOL = 12
_ROUNDS = 20
#: the score gain, relative to the score (0.2 %), that a member must bring to be kept; picks
#: within it of each other count as equal, and the cheaper is taken. On a 160-row holdout's
#: accuracy it is less than one row: a member that changes no answer for the better goes.
MIN_GAIN = 0.002
#: what the voting step adds a member (µs a row): a multiply and a sum of its output
_US_PER_MEMBER = 0.1
#: an ensemble may cost this many times its best trial's serving µs (or ``max_us``, where more)
COST_FACTOR = 2.0


def cost_limit(best_us: float | None, max_us: float | None, ceiling: float | None = None) -> float | None:
    """The most an ensemble may cost to serve (µs a row) when its best trial costs ``best_us``:
    ``max_us`` or ``COST_FACTOR`` times the best trial's, where more; never over ``ceiling``
    (``constraints.max_serving_us``). None: no limit."""
    limits = [max(max_us, COST_FACTOR * (best_us or 0.0))] if max_us is not None else []
    return min([*limits, *([ceiling] if ceiling is not None else [])], default=None)


def select_ensemble(problem: Problem, results: list[TrialResult], next_id: int, *,
                    max_member_seconds: float | None = None, max_us: float | None = None,
                    ceiling: float | None = None) -> TrialResult | None:
    """The greedy ensemble of the best trials, as a result with its holdout score; None if it
    is a single trial (nothing to gain). With CV the weights are chosen on the out-of-fold
    predictions, so the holdout score stays honest. Trials slower to fit than
    ``max_member_seconds`` are left out: the ensemble is refitted at the end, within the budget.
    The members' estimated serving cost together is within ``cost_limit`` (None: no limit)."""
    usable = [r for r in results if r.status == "ok" and _output(r, problem, oof=False) is not None
              and (max_member_seconds is None or r.fit_seconds <= max_member_seconds)]
    pool = diverse(usable)
    if len(pool) < 2:
        return None
    oof = bool(problem.cv_folds) and all(_output(r, problem, oof=True) is not None for r in pool)
    y_select = (problem.y_train if oof else problem.y_test).to_numpy()
    outputs = [_pooled_output(r, problem, oof=oof) for r in pool]
    metric = problem.metric

    def value_of(mean: np.ndarray, y: np.ndarray) -> float:
        if problem.task == "regression":
            return metric.value(y, mean)
        pred = np.asarray(problem.classes)[mean.argmax(axis=1)]
        return metric.value(y, pred, mean, problem.classes)

    cost = [r.serving_us or 0.0 for r in pool]
    limit = cost_limit(cost[0], max_us, ceiling)  # pool[0] is the best trial

    def selection_score(counts: Counter[int]) -> float:
        mean = sum(n * outputs[i] for i, n in counts.items()) / sum(counts.values())
        return metric.score(value_of(np.asarray(mean), y_select))

    def equal(a: float, b: float) -> bool:
        return abs(a - b) <= MIN_GAIN * max(abs(a), abs(b))

    chosen: list[int] = []
    total = np.zeros_like(outputs[0], dtype=float)
    best_score = -np.inf
    spent = 0.0
    for _ in range(_ROUNDS):
        options = []  # (score, cost it adds, index)
        for i, out in enumerate(outputs):
            adds = 0.0 if i in chosen else cost[i]
            if limit is not None and spent + adds > limit:
                continue
            options.append((metric.score(value_of((total + out) / (len(chosen) + 1), y_select)), adds, i))
        if not options:
            break
        top = max(score for score, _, _ in options)
        # among near-equal picks the cheapest, then the better-ranked trial
        score, adds, pick = min((o for o in options if equal(o[0], top) or o[0] >= top), key=lambda o: (o[1], o[2]))
        if chosen and score < best_score:
            break
        chosen.append(pick)
        total += outputs[pick]
        spent += adds
        best_score = max(best_score, score)
    counts = Counter(chosen)
    # prune: drop members that bring less than MIN_GAIN, the most expensive first
    pruned = True
    while pruned and len(counts) > 1:
        pruned = False
        full = selection_score(counts)
        for i in sorted(counts, key=lambda i: (-cost[i], -i)):
            rest = Counter({j: n for j, n in counts.items() if j != i})
            if selection_score(rest) >= full or equal(selection_score(rest), full):
                counts, pruned = rest, True
                break
    if len(counts) < 2:
        return None
    members = [pool[i] for i in sorted(counts)]
    weights = [counts[i] for i in sorted(counts)]

    def blend(use_oof: bool) -> np.ndarray:
        weighted = sum(w * _pooled_output(m, problem, oof=use_oof) for w, m in zip(weights, members))
        return np.asarray(weighted) / sum(weights)

    value = value_of(blend(False), problem.y_test.to_numpy())
    selection = value_of(blend(True), y_select) if oof else value
    trial = Trial(next_id, ENSEMBLE, {"members": [m.trial.id for m in members], "weights": weights}, 0)
    return TrialResult(
        trial, "ok", value=value, score=metric.score(selection), metrics={metric.name: value},
        cv_value=selection if oof else None,
        fit_seconds=sum(m.fit_seconds for m in members),
        predict_ms_per_1000=sum(m.predict_ms_per_1000 or 0.0 for m in members),
        size_bytes=sum(m.size_bytes or 0 for m in members),
        serving_us=sum(m.serving_us or 0.0 for m in members) + _US_PER_MEMBER * len(members),
        compiled=all(m.compiled for m in members),
        compile_blocker=next((m.compile_blocker for m in members if m.compile_blocker), None),
        device="cuda" if any(m.device == "cuda" for m in members) else "cpu",
    )


def ensemble_estimator(problem: Problem, members: list[tuple[Trial, Any]], weights: list[int]) -> Any:
    """An unfitted voting ensemble of the members' (unfitted) pipelines."""
    estimators = [(f"{t.candidate}_{t.id}", pipeline) for t, pipeline in members]
    # weights as an array and no flattened transform: what the ONNX converters take
    array = np.asarray(weights, dtype=float)
    if problem.task == "regression":
        return VotingRegressor(estimators, weights=array)
    return VotingClassifier(estimators, voting="soft", weights=array, flatten_transform=False)


def diverse(ranked: list[TrialResult]) -> list[TrialResult]:
    """The best trial of each family first, then the next best of any: near-copies of one
    family add little to an average."""
    firsts: dict[str, int] = {}
    for i, r in enumerate(ranked):
        firsts.setdefault(r.candidate, i)
    chosen = sorted(firsts.values())[:_POOL]
    rest = [i for i in range(len(ranked)) if i not in firsts.values()]
    return [ranked[i] for i in sorted(chosen + rest[: _POOL - len(chosen)])]


def _output(result: TrialResult, problem: Problem, *, oof: bool) -> np.ndarray | None:
    """What the ensemble averages: probabilities for classes, values for regression."""
    if problem.task == "regression":
        return result.oof_predictions if oof else result.predictions
    return result.oof_proba if oof else result.proba


def _pooled_output(result: TrialResult, problem: Problem, *, oof: bool) -> np.ndarray:
    """The output of a pooled trial: the pool holds only trials that have it."""
    output = _output(result, problem, oof=oof)
    assert output is not None, f"trial {result.trial.id} has no {'out-of-fold ' if oof else ''}output"
    return output
