"""From a raw frame and a spec to a ``Problem``: clean rows, infer the task, split, type.

The train and test features are typed by the input schema (``InputSchema.typed``) before
anything is fitted: every pipeline is fitted and scored on the columns the package's engine,
``podium predict`` and the service will give it. They are held compactly — the same values in
smaller containers: a category column as a pandas categorical of its texts ("" for missing), a
number as float32 where float32 holds every value exactly (float64 otherwise, and always for
datetimes' epoch seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from podium.data.types import ColumnType, as_categories, infer_column_types
from podium.errors import DataError
from podium.registry.schema import InputSchema
from podium.spec import PipelineSpec
from podium.steps import build_steps, default_frame_steps
from podium.training.metrics import default_metric, get_metric
from podium.training.problem import ForecastProblem, Problem
from podium.training.split import cv_folds, holdout_split
from podium.training.task import check_target, infer_task

__all__ = ["Prepared", "prepare"]


@dataclass
class Prepared:
    problem: Problem | ForecastProblem
    #: the frame after row/column steps: what the package's input schema describes
    features: pd.DataFrame
    column_types: dict[str, ColumnType]
    #: the features' schema, computed once: kinds, categories, ranges — and how values are typed
    input_schema: InputSchema
    #: every column of the data as read, before any step: what the user is shown
    source_types: dict[str, ColumnType] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def prepare(frame: pd.DataFrame, spec: PipelineSpec) -> Prepared:
    """Apply the frame steps, check the target, infer the task and split train/test
    (a forecast task: check the series and hold out the last ``horizon`` points of each)."""
    if spec.task == "forecast":
        from podium.training.forecasting import prepare_forecast

        return prepare_forecast(frame, spec)
    notes: list[str] = []
    if frame.empty or len(frame.columns) == 0:
        raise DataError("The data has no rows.", hint="check the source, its table name or filter")
    target = spec.target
    check_target(frame, target)
    task = infer_task(frame[target], spec.task)  # an unusable target is the first thing to say
    built = build_steps(spec.steps or [], origin="spec")
    frame_steps = list(built.frame)
    source_types = infer_column_types(frame)
    if spec.steps is None:
        features = {c: t for c, t in source_types.items() if c != target}
        frame_steps = default_frame_steps(frame, features, target=target)
    for step in frame_steps:
        result = step.apply(frame, target=target)
        frame = result.frame
        notes.extend(result.notes)
    missing = frame[target].isna()
    if missing.any():
        notes.append(f"dropped {int(missing.sum())} rows whose target '{target}' is missing")
        frame = frame.loc[~missing]
    y = frame[target]
    X = frame.drop(columns=[target])
    if X.shape[1] == 0:
        raise DataError(f"No feature columns are left besides the target '{target}'.",
                        hint="check drop_columns/select_columns, or the notes on dropped columns")
    if task != "regression":
        y = y.astype(str) if y.dtype == object else y
    else:
        y = pd.to_numeric(y)
    metric = get_metric(spec.metric or default_metric(task), task)
    split = holdout_split(X, y, spec.split, task=task)
    if split.note:
        notes.append(split.note)
    column_types = infer_column_types(X)
    schema = InputSchema.from_frame(X, column_types)
    X_train, X_test = _typed(schema, split.X_train), _typed(schema, split.X_test)
    folds = spec.split.folds_for(len(split.X_train))
    problem = Problem(
        X_train=X_train, y_train=split.y_train, X_test=X_test, y_test=split.y_test,
        task=task, metric=metric, column_types=column_types,
        transforms=built.transforms or None,  # only frame steps: the defaults encode
        cv_folds=cv_folds(split.y_train, folds, task=task, seed=spec.split.seed) if folds else [],
        classes=sorted(y.unique().tolist()) if task != "regression" else None,
        time_ordered=spec.split.time_column is not None,
    )
    return Prepared(problem, X, column_types, schema, source_types, notes)


_EXACT_KINDS = (ColumnType.NUMERIC, ColumnType.BOOLEAN, ColumnType.DATETIME)


def _typed(schema: InputSchema, X: pd.DataFrame) -> pd.DataFrame:
    """``schema.typed(X)`` as a compact frame (see the module's note)."""
    numbers = InputSchema(columns=[c for c in schema.columns if c.kind in _EXACT_KINDS]).typed(X)
    columns: dict[str, pd.Series | np.ndarray] = {}
    for column in schema.columns:
        if column.kind not in _EXACT_KINDS:
            columns[column.name] = as_categories(X[column.name])
        elif column.kind == ColumnType.DATETIME:
            columns[column.name] = numbers[column.name]
        else:
            columns[column.name] = _float32_if_exact(numbers[column.name])
    return pd.DataFrame(columns, index=X.index)


def _float32_if_exact(values: np.ndarray) -> np.ndarray:
    narrow = values.astype(np.float32)
    return narrow if np.array_equal(narrow, values, equal_nan=True) else values
