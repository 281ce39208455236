"""Metrics, registered by name. ``Metric.score`` is greater-is-better (losses negated),
so the best trial is always the maximum; ``value`` is what a person reads.

Forecast metrics are computed over the forecast points of every series (``horizon`` each):
MASE divides each point's absolute error by its series' ``scale`` (the in-sample seasonal
naive MAE on the history the forecast was made from) and averages — the mean over series of
each series' MASE; sMAPE is in 0–200; RMSE and MAE (shared with regression) pool the points.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm

from podium._internal.named import Named
from podium.errors import NotFoundError, SpecError

__all__ = ["Metric", "metric_registry", "get_metric", "default_metric", "metrics_for"]


@dataclass(frozen=True)
class Metric:
    name: str
    tasks: frozenset[str]
    greater_is_better: bool
    needs_proba: bool
    fn: Callable[..., float]
    summary: str = ""
    #: the metric divides by a per-row ``scale`` (MASE: each series' in-sample naive error)
    needs_scale: bool = False

    def value(self, y_true: Any, y_pred: Any, proba: np.ndarray | None = None,
              classes: Sequence[Any] | None = None, *, scale: np.ndarray | None = None) -> float:
        """The metric as a person reads it (RMSE positive, accuracy in [0, 1])."""
        if self.needs_scale:
            if scale is None:
                raise ValueError(f"{self.name} needs the series' scales")
            return float(self.fn(y_true, y_pred, scale))
        if self.needs_proba:
            if proba is None:
                raise ValueError(f"{self.name} needs class probabilities")
            return float(self.fn(y_true, proba, classes))
        return float(self.fn(y_true, y_pred))

    def score(self, value: float) -> float:
        """Greater is better: the value, or minus the value for a loss."""
        return value if self.greater_is_better else -value

    def passes(self, value: float, threshold: float) -> bool:
        return value >= threshold if self.greater_is_better else value <= threshold


def _roc_auc(y_true: Any, proba: np.ndarray, classes: Sequence[Any]) -> float:
    if proba.shape[1] == 2:
        return float(skm.roc_auc_score(np.asarray(y_true) == classes[1], proba[:, 1]))
    return float(skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=list(classes)))


def _log_loss(y_true: Any, proba: np.ndarray, classes: Sequence[Any]) -> float:
    return float(skm.log_loss(y_true, proba, labels=list(classes)))


def _mase(y_true: Any, y_pred: Any, scale: np.ndarray) -> float:
    errors = np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))
    if not np.isfinite(errors).all():
        raise ValueError("the forecast has missing values")
    return float(np.mean(errors / np.asarray(scale, dtype=float)))


def _smape(y_true: Any, y_pred: Any) -> float:
    actual, forecast = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(np.abs(actual - forecast), denominator, out=np.zeros_like(actual), where=denominator > 0)
    return float(200 * np.mean(ratio))


_CLASS = frozenset({"binary", "multiclass"})
_REG = frozenset({"regression"})
_FORECAST = frozenset({"forecast"})

metric_registry: Named[Metric] = Named("metric", error=NotFoundError)
for _m in (
    Metric("accuracy", _CLASS, True, False, skm.accuracy_score, "share of rows classified right"),
    Metric("balanced_accuracy", _CLASS, True, False, skm.balanced_accuracy_score,
           "accuracy averaged over classes (for imbalanced classes)"),
    Metric("f1_macro", _CLASS, True, False,
           lambda t, p: skm.f1_score(t, p, average="macro"), "F1 averaged over classes"),
    Metric("roc_auc", _CLASS, True, True, _roc_auc, "area under the ROC curve (one-vs-rest)"),
    Metric("log_loss", _CLASS, False, True, _log_loss, "cross-entropy of the probabilities"),
    Metric("rmse", _REG | _FORECAST, False, False, skm.root_mean_squared_error, "root mean squared error"),
    Metric("mae", _REG | _FORECAST, False, False, skm.mean_absolute_error, "mean absolute error"),
    Metric("mase", _FORECAST, False, False, _mase,
           "mean absolute scaled error: each series' error over its in-sample seasonal naive error",
           needs_scale=True),
    Metric("smape", _FORECAST, False, False, _smape, "symmetric mean absolute percentage error (0-200)"),
    Metric("r2", _REG, True, False, skm.r2_score, "coefficient of determination"),
):
    metric_registry.register(_m.name, _m)


def get_metric(name: str, task: str) -> Metric:
    """The named metric, checked against the task."""
    metric = metric_registry.get(name)
    if task not in metric.tasks:
        raise SpecError(
            f"Metric '{name}' does not apply to a {task} task.",
            hint=f"use one of: {', '.join(metrics_for(task))}",
        )
    return metric


def default_metric(task: str) -> str:
    return {"regression": "rmse", "forecast": "mase"}.get(task, "accuracy")


def metrics_for(task: str) -> list[str]:
    return [name for name, m in metric_registry.items() if task in m.tasks]
