"""Inferring and checking the task from the target column."""

from __future__ import annotations

import pandas as pd
from pandas.api import types as ptypes

from podium._internal.suggest import did_you_mean
from podium.errors import DataError, SchemaError
from podium.registry.schema import Task

__all__ = ["infer_task", "check_target"]

_MAX_INTEGER_CLASSES = 20


def check_target(frame: pd.DataFrame, target: str) -> None:
    """The target exists and has values; otherwise one clear line."""
    if target not in frame.columns:
        raise SchemaError(
            f"Target column '{target}' is not in the data. "
            f"{did_you_mean(target, map(str, frame.columns))}".rstrip()
        )
    if frame[target].isna().all():
        raise DataError(f"Target column '{target}' has no values (all {len(frame)} are missing).")


def infer_task(target: pd.Series, requested: str = "auto") -> Task:
    """binary, multiclass or regression, from the target's values (or as requested, checked)."""
    values = target.dropna()
    distinct = values.nunique()
    numeric = ptypes.is_numeric_dtype(values) and not ptypes.is_bool_dtype(values)
    name = target.name
    task: Task
    if requested == "regression":
        if not numeric:
            bad = values[pd.to_numeric(values, errors="coerce").isna()].iloc[0]
            raise DataError(
                f"Target '{name}' is not numeric (e.g. {bad!r}), so it cannot be a regression target.",
                hint="use task: binary or multiclass, or clean the column",
            )
        task = "regression"
    elif requested in ("binary", "multiclass"):
        task = "binary" if requested == "binary" else "multiclass"
    elif not numeric:
        task = "binary" if distinct == 2 else "multiclass"
    elif ptypes.is_integer_dtype(values) or (values == values.round()).all():
        task = ("binary" if distinct == 2 else "multiclass") if distinct <= _MAX_INTEGER_CLASSES \
            else "regression"
    else:
        task = "regression"
    if task != "regression":
        if distinct < 2:
            only = values.iloc[0] if len(values) else None
            raise DataError(
                f"Target '{name}' has a single class ({only!r}): there is nothing to predict.",
                hint="check the source or the filter that produced it",
            )
        if task == "binary" and distinct > 2:
            raise DataError(f"Target '{name}' has {distinct} classes, not 2: use task: multiclass.")
    elif distinct < 2:
        raise DataError(f"Target '{name}' is constant: there is nothing to predict.")
    return task
