"""Fitting and scoring one trial; runs inside an executor's worker.

Without CV a trial fits on the train split and scores the holdout. With k folds it fits one
model per fold: the out-of-fold predictions over the train split select (and weigh
ensembles), and the fold models' averaged predictions score the holdout.
"""

from __future__ import annotations

import pickle
import time
import warnings
from typing import Any

import numpy as np
from sklearn.base import clone

from podium.candidates import candidate_registry, fit_deadline, selection_fit
from podium.candidates.device import Device, device_used, use_device
from podium.training.compile import part_types, serving_us
from podium.training.leaderboard import Trial, TrialResult
from podium.training.forecasting import run_forecast_trial
from podium.training.problem import ForecastProblem, Problem, make_pipeline

__all__ = ["run_trial", "evaluate", "metric_values"]


def predict(problem: Problem, pipeline: Any, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions and, for classes, probabilities with columns in ``problem.classes`` order."""
    if problem.task == "regression":
        return np.asarray(pipeline.predict(X), dtype=float), None
    raw = pipeline.predict_proba(X)
    proba = np.zeros((len(X), len(problem.classes or [])))
    index = {c: i for i, c in enumerate(problem.classes or [])}
    for j, c in enumerate(pipeline.classes_):  # a fold may miss a rare class
        proba[:, index[c]] = raw[:, j]
    return _labels(problem, proba), proba


def _labels(problem: Problem, proba: np.ndarray) -> np.ndarray:
    labels: np.ndarray = np.asarray(problem.classes)[proba.argmax(axis=1)]
    return labels


def metric_values(problem: Problem, y: Any, pred: np.ndarray, proba: np.ndarray | None) -> dict[str, float]:
    """Every metric of the task that can be computed on these rows."""
    from podium.training.metrics import metric_registry

    values: dict[str, float] = {}
    for name, metric in metric_registry.items():
        if problem.task in metric.tasks:
            try:
                values[name] = metric.value(y, pred, proba, problem.classes)
            except ValueError:
                continue  # e.g. roc_auc with a class missing from the rows
    return values


def evaluate(problem: Problem, pipeline: Any, X: Any, y: Any) -> tuple[dict[str, float], np.ndarray, np.ndarray | None, float]:
    """All metrics of the task on (X, y); also the predictions and predict seconds."""
    start = time.perf_counter()
    pred, proba = predict(problem, pipeline, X)
    seconds = time.perf_counter() - start
    return metric_values(problem, y, pred, proba), pred, proba, seconds


def run_trial(problem: Problem | ForecastProblem, trial: Trial, deadline: float | None) -> TrialResult:
    """Fit and score one configuration on the trial's device; never raises."""
    device: Device = "cuda" if trial.device == "cuda" else "cpu"
    with use_device(device):
        if isinstance(problem, ForecastProblem):
            result = run_forecast_trial(problem, trial, deadline)
        else:
            result = _run_trial(problem, trial, deadline)
    result.device = device_used(candidate_registry.get(trial.candidate).tags.gpu, device)
    return result


def _run_trial(problem: Problem, trial: Trial, deadline: float | None) -> TrialResult:
    candidate = candidate_registry.get(trial.candidate)
    try:
        with warnings.catch_warnings(), fit_deadline(deadline), selection_fit():
            warnings.simplefilter("ignore")
            pipeline = make_pipeline(problem, candidate, trial.params, trial.seed)
            if problem.cv_folds:
                return _cross_validated(problem, trial, pipeline)
            X, y = problem.train_part(trial.rows)
            start, cpu = time.perf_counter(), time.process_time()
            pipeline.fit(X, y)
            fit_seconds, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
            values, pred, proba, predict_seconds = evaluate(problem, pipeline, problem.X_test, problem.y_test)
    except Exception as exc:  # a failing candidate is recorded; the others go on
        return TrialResult(trial, "failed", error=_one_line(exc))
    return _result(problem, trial, values, None, fit_seconds=fit_seconds, predict_seconds=predict_seconds,
                   model=pipeline, predictions=pred, proba=proba, rows=len(X), fit_cpu_seconds=fit_cpu)


def _cross_validated(problem: Problem, trial: Trial, pipeline: Any) -> TrialResult:
    X, y = problem.X_train, problem.y_train
    n_classes = len(problem.classes or [])
    oof = np.zeros((len(X), n_classes)) if n_classes else np.zeros(len(X))
    holdout = np.zeros((len(problem.X_test), n_classes)) if n_classes else np.zeros(len(problem.X_test))
    fit_seconds = predict_seconds = 0.0
    fold = pipeline
    for train_idx, val_idx in problem.cv_folds:
        fold = clone(pipeline)
        start = time.perf_counter()
        fold.fit(X.iloc[train_idx], y.iloc[train_idx])
        fit_seconds += time.perf_counter() - start
        pred, proba = predict(problem, fold, X.iloc[val_idx])
        oof[val_idx] = proba if n_classes else pred
        start = time.perf_counter()
        pred, proba = predict(problem, fold, problem.X_test)
        predict_seconds += time.perf_counter() - start
        holdout += pred if proba is None else proba
    k = len(problem.cv_folds)
    holdout /= k
    if n_classes:
        oof_pred, oof_proba, pred, proba = _labels(problem, oof), oof, _labels(problem, holdout), holdout
    else:
        oof_pred, oof_proba, pred, proba = oof, None, holdout, None
    cv_values = metric_values(problem, y.to_numpy(), oof_pred, oof_proba)
    values = metric_values(problem, problem.y_test.to_numpy(), pred, proba)
    return _result(problem, trial, values, cv_values.get(problem.metric.name), fit_seconds=fit_seconds / k,
                   predict_seconds=predict_seconds / k, model=fold, predictions=pred, proba=proba,
                   oof_predictions=oof_pred, oof_proba=oof_proba, rows=len(X))


def _result(problem: Problem, trial: Trial, values: dict[str, float], cv_value: float | None, *,
            fit_seconds: float, predict_seconds: float, model: Any, **outputs: Any) -> TrialResult:
    metric = problem.metric
    if metric.name not in values or (problem.cv_folds and cv_value is None):
        return TrialResult(trial, "failed", error=f"{metric.name} could not be computed on the test rows")
    value = values[metric.name]
    kept = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL) if trial.keep_model else None
    return TrialResult(
        trial, "ok", value=value, score=metric.score(cv_value if cv_value is not None else value),
        metrics=values, fit_seconds=fit_seconds,
        predict_ms_per_1000=1000 * predict_seconds * 1000 / max(1, len(problem.X_test)),
        size_bytes=_pickled_size(model) if kept is None else len(kept), serving_us=_serving_us(model),
        cv_value=cv_value, parts=part_types(model), model=kept, **outputs,
    )


def _serving_us(model: Any) -> float | None:
    try:
        return serving_us(model)
    except Exception:  # noqa: BLE001  an estimate: a model it cannot read has none
        return None


class _Counter:
    """A file that only counts what is written to it."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes | pickle.PickleBuffer) -> int:
        size = memoryview(data).nbytes  # protocol 5 writes large arrays as PickleBuffers
        self.size += size
        return size


def _pickled_size(model: Any) -> int:
    """The model's serialized size, without holding a second copy of it in memory."""
    counter = _Counter()
    pickle.dump(model, counter, protocol=pickle.HIGHEST_PROTOCOL)
    return counter.size


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
