"""Fitting and scoring one trial; runs inside an executor's worker."""

from __future__ import annotations

import pickle
import time
import warnings
from typing import Any

import numpy as np
from sklearn.base import clone

from podium.candidates import candidate_registry, fit_deadline
from podium.training.leaderboard import Trial, TrialResult
from podium.training.problem import Problem, make_pipeline

__all__ = ["run_trial", "evaluate"]


def evaluate(problem: Problem, pipeline: Any, X: Any, y: Any) -> tuple[dict[str, float], np.ndarray, np.ndarray | None, float]:
    """All metrics of the task on (X, y); also the predictions and predict seconds."""
    from podium.training.metrics import metric_registry

    start = time.perf_counter()
    proba = pipeline.predict_proba(X) if problem.task != "regression" else None
    pred = pipeline.predict(X) if proba is None else np.asarray(pipeline.classes_)[proba.argmax(axis=1)]
    seconds = time.perf_counter() - start
    classes = list(pipeline.classes_) if proba is not None else None
    values: dict[str, float] = {}
    for name, metric in metric_registry.items():
        if problem.task in metric.tasks:
            try:
                values[name] = metric.value(y, pred, proba, classes)
            except ValueError:
                continue  # e.g. roc_auc with a class missing from the test rows
    return values, pred, proba, seconds


def run_trial(problem: Problem, trial: Trial, deadline: float | None) -> TrialResult:
    """Fit on train (and each CV fold), score on test; never raises."""
    candidate = candidate_registry.get(trial.candidate)
    try:
        with warnings.catch_warnings(), fit_deadline(deadline):
            warnings.simplefilter("ignore")
            pipeline = make_pipeline(problem, candidate, trial.params, trial.seed)
            cv_value = _cross_validate(problem, pipeline) if problem.cv_folds else None
            start = time.perf_counter()
            pipeline.fit(problem.X_train, problem.y_train)
            fit_seconds = time.perf_counter() - start
            values, pred, proba, predict_seconds = evaluate(problem, pipeline, problem.X_test, problem.y_test)
    except Exception as exc:  # a failing candidate is recorded; the others go on
        return TrialResult(trial, "failed", error=_one_line(exc))
    metric = problem.metric
    if metric.name not in values:
        return TrialResult(trial, "failed", error=f"{metric.name} could not be computed on the test rows")
    value = values[metric.name]
    selection = cv_value if cv_value is not None else value
    return TrialResult(
        trial, "ok", value=value, score=metric.score(selection), metrics=values,
        fit_seconds=fit_seconds,
        predict_ms_per_1000=1000 * predict_seconds * 1000 / max(1, len(problem.X_test)),
        size_bytes=len(pickle.dumps(pipeline, protocol=pickle.HIGHEST_PROTOCOL)),
        cv_value=cv_value, predictions=pred, proba=proba,
    )


def _cross_validate(problem: Problem, pipeline: Any) -> float:
    values = []
    X, y = problem.X_train, problem.y_train
    for train_idx, val_idx in problem.cv_folds:
        fold = clone(pipeline).fit(X.iloc[train_idx], y.iloc[train_idx])
        scores, *_ = evaluate(problem, fold, X.iloc[val_idx], y.iloc[val_idx])
        values.append(scores[problem.metric.name])
    return float(np.mean(values))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
