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
from podium.errors import DataError, SchemaError
from podium.registry.schema import ColumnSchema, InputSchema
from podium.spec import PipelineSpec
from podium.steps import build_steps, default_frame_steps
from podium.training.metrics import default_metric, get_metric
from podium.training.problem import ForecastProblem, Problem
from podium.training.split import cv_folds, holdout_positions
from podium.training.task import check_target, infer_task

__all__ = ["Prepared", "prepare"]


@dataclass
class Prepared:
    problem: Problem | ForecastProblem
    #: the frame after row/column steps: what the package's input schema describes (a table: its
    #: first ``FEATURE_ROWS`` rows, not a copy of every row beside the problem's typed ones)
    features: pd.DataFrame
    column_types: dict[str, ColumnType]
    #: the features' schema, computed once: kinds, categories, ranges — and how values are typed
    input_schema: InputSchema
    #: every column of the data as read, before any step: what the user is shown
    source_types: dict[str, ColumnType] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def prepare(frame: pd.DataFrame, spec: PipelineSpec, *, drawn_from: int | None = None) -> Prepared:
    """Apply the frame steps, check the target, infer the task and split train/test
    (a forecast task: check the series and hold out the last ``horizon`` points of each).
    ``drawn_from``: the rows were drawn at random from that many (``infer_column_types``)."""
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
    source_types = infer_column_types(frame, drawn_from=drawn_from)
    spread = drawn_from / len(frame) if drawn_from else None  # source rows a row stands for
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
    labels = {str(c): c for c in frame.columns if c != target}
    names = list(labels)
    if not names:
        raise DataError(f"No feature columns are left besides the target '{target}'.",
                        hint="check drop_columns/select_columns, or the notes on dropped columns")
    y = frame[target]
    if task != "regression":
        y = y.astype(str) if y.dtype == object else y
    else:
        y = pd.to_numeric(y)
    metric = get_metric(spec.metric or default_metric(task), task)
    time_column = spec.split.time_column
    if time_column is not None and time_column not in labels:
        raise SchemaError(f"split.time_column '{time_column}' is not a column of the data.")
    split = holdout_positions(y, spec.split, task=task,
                              times=frame[labels[time_column]] if time_column is not None else None)
    if split.note:
        notes.append(split.note)
    # the frame's columns are read in place: no copy of millions of rows without the target
    unchanged = not frame_steps and not missing.any()
    kinds = source_types if unchanged else infer_column_types(
        frame, drawn_from=None if spread is None else round(spread * len(frame)))
    column_types = {c: kinds[c] for c in names}
    schema = InputSchema(columns=[ColumnSchema.from_series(c, frame[labels[c]], column_types[c]) for c in names])
    typed = _typed(schema, frame)
    X_train, X_test = typed.iloc[split.train], typed.iloc[split.test]
    y_train, y_test = y.iloc[split.train], y.iloc[split.test]
    del typed
    folds = spec.split.folds_for(len(X_train))
    problem = Problem(
        X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
        task=task, metric=metric, column_types=column_types,
        transforms=built.transforms or None,  # only frame steps: the defaults encode
        cv_folds=cv_folds(y_train, folds, task=task, seed=spec.split.seed) if folds else [],
        classes=sorted(y.unique().tolist()) if task != "regression" else None,
        time_ordered=time_column is not None,
    )
    return Prepared(problem, frame.iloc[:FEATURE_ROWS][list(labels.values())], column_types, schema, source_types,
                    notes)


#: the rows of the features a table's ``Prepared`` keeps (the typed rows are the problem's)
FEATURE_ROWS = 1_000
_EXACT_KINDS = (ColumnType.NUMERIC, ColumnType.BOOLEAN, ColumnType.DATETIME)


def _typed(schema: InputSchema, X: pd.DataFrame) -> pd.DataFrame:
    """``schema.typed(X)`` as a compact frame (see the module's note)."""
    from pandas.api import types as ptypes

    labels = {str(c): c for c in X.columns}
    series = []
    for column in schema.columns:
        source = X[labels[column.name]]
        values: pd.Series | np.ndarray
        if column.kind not in _EXACT_KINDS:
            values = as_categories(source)
        elif column.kind == ColumnType.NUMERIC and ptypes.is_numeric_dtype(source.dtype) \
                and not ptypes.is_bool_dtype(source.dtype):
            # what InputSchema.typed gives a numeric column (float64), narrowed where exact
            if _narrow_dtype(source.dtype):
                values = source.to_numpy(dtype=np.float32, na_value=np.nan)
            else:
                values = _float32_if_exact(source.to_numpy(dtype=np.float64, na_value=np.nan), source.dtype)
        else:
            values = InputSchema(columns=[column]).typed(X)[column.name]
            if column.kind != ColumnType.DATETIME:  # booleans, numbers written as text
                values = _float32_if_exact(values, source.dtype)
        series.append(values.rename(column.name) if isinstance(values, pd.Series)
                      else pd.Series(values, index=X.index, name=column.name))
    # side by side as they are: pandas 2 would copy every row into one block per dtype (pandas 3 copies nothing)
    return pd.concat(series, axis=1, **({} if pd.__version__ >= "3" else {"copy": False}))


def _narrow_dtype(dtype: np.dtype | pd.api.extensions.ExtensionDtype) -> bool:
    """Whether every value of ``dtype`` holds in float32 (float32 and smaller, small integers, booleans)."""
    kind, size = getattr(dtype, "kind", "O"), getattr(dtype, "itemsize", 8)
    return kind == "b" or (kind == "f" and size <= 4) or (kind in "iu" and size <= 2)


_FLOAT32_INTEGERS = 2**24  # every integer up to this holds in float32's 24-bit mantissa


def _float32_if_exact(values: np.ndarray, source: np.dtype | pd.api.extensions.ExtensionDtype) -> np.ndarray:
    """float32 when it holds every value exactly. The source's dtype often answers (float32,
    small integers); else a sample of the values refuses most columns before every value is tried."""
    narrow = values.astype(np.float32)
    if _narrow_dtype(source):
        return narrow
    if getattr(source, "kind", "O") in "iu":
        present = values[~np.isnan(values)]
        big = len(present) and max(-present.min(), present.max()) > _FLOAT32_INTEGERS
        return values if big else narrow
    head = slice(0, 1_000)
    if not np.array_equal(narrow[head], values[head], equal_nan=True):
        return values
    return narrow if np.array_equal(narrow, values, equal_nan=True) else values
