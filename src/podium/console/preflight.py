"""The pre-flight plan: a dry run of a spec on a sample of its data, before any training.

Each row/column step is applied to the first rows of the source and its row and column
counts shown; then the warnings worth reading before spending the budget: a column that
predicts the target almost perfectly on its own (target leakage), a categorical column that
one-hot encoding would explode, class imbalance, id-like and constant columns. The run's time
is estimated from past runs of the same pipeline.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pandas as pd

from podium.config import Settings
from podium.registry import Registry
from podium.spec import PipelineSpec

__all__ = ["preflight", "source_columns"]

#: rows read for the dry run (the first ones of the source)
SAMPLE_ROWS = 5_000
#: a single column scoring this well on its own (balanced accuracy or R² on held-out rows) looks leaked
LEAKAGE_SCORE = 0.98
#: a categorical column with more distinct values than this would explode under one-hot encoding
ONE_HOT_LIMIT = 100
#: a class rarer than this share of rows is flagged
MINORITY_SHARE = 0.05
#: columns checked for leakage at most (the sample's first ones)
LEAKAGE_COLUMNS = 200


def _sample(source: Any, settings: Settings, rows: int) -> pd.DataFrame:
    """The source's first ``rows`` rows; a relative file path is read from the project folder, as
    the run's worker reads it."""
    from podium.data import resolve_source

    if isinstance(source, str) and "://" not in source and not Path(source).is_absolute():
        source = str(settings.project_dir / source)
    return next(iter(resolve_source(source).read_batches(rows)), pd.DataFrame()).head(rows)


def source_columns(source: Any, settings: Settings, *, rows: int = 1_000) -> list[dict[str, str]]:
    """``[{"name", "type"}]``: the source's columns and their inferred types (from its first rows),
    for the designer's column pickers."""
    from podium.data.types import infer_column_types

    frame = _sample(source, settings, rows)
    return [{"name": str(name), "type": kind.value} for name, kind in infer_column_types(frame).items()]


def preflight(spec: PipelineSpec, settings: Settings, *, registry: Registry | None = None) -> dict[str, Any]:
    """``{"sample_rows", "task", "steps": [{"step", "rows", "columns", "notes"}], "warnings":
    [{"kind", "column", "message"}], "estimated_seconds"}`` for a spec."""
    from podium.data.types import ColumnType, infer_column_types
    from podium.steps.build import build_steps
    from podium.steps.defaults import default_frame_steps
    from podium.training.task import check_target, infer_task

    frame = _sample(spec.source, settings, SAMPLE_ROWS)
    target = spec.target
    check_target(frame, target)
    task = infer_task(frame[target], spec.task)
    plan: list[dict[str, Any]] = [{"step": "source", "rows": len(frame), "columns": frame.shape[1], "notes": []}]
    types = infer_column_types(frame)
    warnings: list[dict[str, Any]] = []
    for column, kind in types.items():
        if column == target:
            continue
        if kind == ColumnType.ID:
            warnings.append(_warning("id_like", column, f"'{column}' is id-like (unique per row): it carries no "
                                                        "signal" + (", and the default steps drop it" if spec.steps is None else "")))
        elif kind == ColumnType.CONSTANT:
            warnings.append(_warning("constant", column, f"'{column}' is constant (a single value): it carries no "
                                                         "signal"))
    built = build_steps(spec.steps or [], origin="spec")
    frame_steps = list(built.frame)
    if spec.steps is None:
        frame_steps = default_frame_steps(frame, {c: t for c, t in types.items() if c != target}, target=target)
    for step in frame_steps:
        result = step.apply(frame, target=target)
        frame = result.frame
        plan.append({"step": getattr(step, "name", None) or type(step).__name__, "rows": len(frame),
                     "columns": frame.shape[1], "notes": list(result.notes)})
    features = frame.drop(columns=[target])
    y = frame[target]
    features_types = infer_column_types(features) if features.shape[1] else {}
    encoded = 0
    for column, kind in features_types.items():
        if kind in (ColumnType.CATEGORICAL, ColumnType.TEXT):
            distinct = int(features[column].nunique())
            encoded += distinct
            if distinct > ONE_HOT_LIMIT:
                warnings.append(_warning("one_hot_explosion", column,
                                         f"'{column}' has {distinct} distinct values in the sample: one-hot "
                                         f"encoding makes a column of each (limit it with one_hot's "
                                         "max_categories, or use ordinal_encode)"))
        else:
            encoded += 1
    plan.append({"step": "encoded (one-hot)", "rows": len(frame), "columns": encoded, "notes": []})
    if task != "regression" and len(y):
        shares = y.value_counts(normalize=True)
        rare = shares[shares < MINORITY_SHARE]
        for label, share in rare.items():
            warnings.append(_warning("class_imbalance", target,
                                     f"class '{label}' is {share:.1%} of the rows: consider a metric such "
                                     "as balanced_accuracy or f1 rather than accuracy"))
    warnings += _leakage(features, features_types, y, task)
    return {"sample_rows": plan[0]["rows"], "task": task, "steps": plan, "warnings": warnings,
            "estimated_seconds": _estimate(spec, settings, registry)}


def _warning(kind: str, column: str, message: str) -> dict[str, Any]:
    return {"kind": kind, "column": column, "message": message}


def _leakage(features: pd.DataFrame, types: dict[str, Any], y: pd.Series, task: str) -> list[dict[str, Any]]:
    """Columns that predict the target almost perfectly on their own (a shallow tree, held-out rows)."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    from podium.data.types import ColumnType

    if len(y) < 20 or y.nunique() < 2:
        return []
    found: list[dict[str, Any]] = []
    regression = task == "regression"
    target = pd.to_numeric(y, errors="coerce") if regression else y.astype(str)
    for column in list(features.columns)[:LEAKAGE_COLUMNS]:
        if types.get(column) in (ColumnType.ID, ColumnType.CONSTANT):
            continue
        values = features[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            x = pd.to_numeric(values, errors="coerce").astype(float).fillna(-1e12).to_numpy().reshape(-1, 1)
        else:
            x = pd.factorize(values.astype(str))[0].astype(float).reshape(-1, 1)
        try:
            x_train, x_test, y_train, y_test = train_test_split(
                x, target, test_size=0.3, random_state=0,
                stratify=None if regression or target.value_counts().min() < 2 else target)
        except ValueError:
            continue
        model = (DecisionTreeRegressor(max_depth=4, random_state=0) if regression
                 else DecisionTreeClassifier(max_depth=4, random_state=0))
        model.fit(x_train, y_train)
        # balanced accuracy: on a rare class, always saying "no" is not a perfect prediction
        score = float(model.score(x_test, y_test) if regression
                      else balanced_accuracy_score(y_test, model.predict(x_test)))
        if score >= LEAKAGE_SCORE:
            what = "R²" if regression else "balanced accuracy"
            found.append(_warning("leakage", column,
                                  f"'{column}' alone predicts the target with {what} {score:.3f} on held-out "
                                  "rows: if it is known only after the outcome (target leakage), drop it"))
    return found


def _estimate(spec: PipelineSpec, settings: Settings, registry: Registry | None) -> float | None:
    """Seconds: the median of past finished runs of this pipeline, else the time budget."""
    try:
        registry = registry or Registry.from_settings(settings)
        runs = registry.list_runs(limit=20, name=spec.name)
    except Exception:  # noqa: BLE001  an estimate is optional: no registry, no estimate
        runs = []
    durations = [(r.finished_at - r.started_at).total_seconds() for r in runs if r.finished_at is not None]
    if durations:
        return round(float(statistics.median(durations)), 1)
    return spec.budget.seconds


