"""A prepared competition: the split data, the task, the metric and how to build pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from podium.candidates import Candidate
from podium.data.series import SERIES, SeriesLayout
from podium.data.types import ColumnType
from podium.registry.schema import Task
from podium.steps import compose_steps, default_transforms
from podium.training.metrics import Metric

__all__ = ["Problem", "ForecastProblem", "Window", "make_pipeline"]


@dataclass
class Problem:
    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series
    task: Task
    metric: Metric
    column_types: dict[str, ColumnType]
    #: the spec's transform steps (name, ColumnStep or a plugin's transformer); None means per-family defaults
    transforms: list[tuple[str, Any]] | None = None
    cv_folds: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    classes: list[Any] | None = None
    #: the train split is in time order (``split.time_column``), not shuffled
    time_ordered: bool = False

    @property
    def n_rows(self) -> int:
        return len(self.X_train) + len(self.X_test)

    def train_part(self, rows: int | None) -> tuple[pd.DataFrame, pd.Series]:
        """``rows`` train rows for a subsampled trial: the first of the shuffled split (a random
        sample, nested as rows grow), or the latest when the split is in time order."""
        if rows is None or rows >= len(self.X_train):
            return self.X_train, self.y_train
        part = slice(len(self.X_train) - rows, None) if self.time_ordered else slice(0, rows)
        return self.X_train.iloc[part], self.y_train.iloc[part]


@dataclass(frozen=True)
class Window:
    """One forecast origin: the history up to it (long layout) and the next ``horizon`` points."""

    train: pd.DataFrame
    test: pd.DataFrame


@dataclass
class ForecastProblem:
    """A prepared forecast competition: the series in the long layout, split by time.

    ``train`` is every series but its last ``horizon`` points, ``test`` those points (the
    holdout); ``backtest`` holds the rolling-origin windows before the holdout that select,
    when the spec asks for them (``split.backtest_windows``).
    """

    layout: SeriesLayout
    panel: pd.DataFrame
    train: pd.DataFrame
    test: pd.DataFrame
    metric: Metric
    backtest: list[Window] = field(default_factory=list)
    task: Task = "forecast"

    @property
    def n_rows(self) -> int:
        return len(self.panel)

    @property
    def n_series(self) -> int:
        return int(self.panel[SERIES].nunique())


def make_pipeline(problem: Problem, candidate: Candidate, params: dict[str, Any], seed: int) -> Pipeline:
    """The spec's transform steps (or the family's defaults), composed for the columns' kinds
    into one ColumnTransformer, followed by the estimator. The pipeline takes typed frames."""
    if problem.transforms is not None:
        steps = list(problem.transforms)
    else:
        tags = candidate.tags
        steps = list(default_transforms(problem.column_types, needs_scaling=tags.needs_scaling,
                                        handles_missing=tags.handles_missing, encoding=tags.encoding))
    features = compose_steps(steps, problem.column_types)
    return Pipeline([*features, ("model", candidate.estimator(problem.task, params, seed))])
