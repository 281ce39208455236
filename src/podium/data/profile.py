"""Profiles of a table: per column its type, missing share, distinct values and distribution.

A profile is plain JSON (numbers, strings, lists, dicts), stored with each dataset version
and drawn by the HTML report::

    profile = profile_frame(frame, target="churn")
    profile["columns"]["age"]["histogram"]   # {"edges": [...], "counts": [...]}
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from podium._internal.suggest import did_you_mean
from podium.data.types import ColumnType, infer_column_type
from podium.errors import SchemaError

__all__ = ["profile_frame", "QUANTILES", "HISTOGRAM_BINS", "TOP_CATEGORIES", "OTHER"]

QUANTILES = (5, 25, 50, 75, 95)
HISTOGRAM_BINS = 20
TOP_CATEGORIES = 20
#: the label of everything beyond the top categories
OTHER = "(other)"
#: a target with at most this many distinct values is profiled as classes
_MAX_CLASSES = 20


def profile_frame(frame: pd.DataFrame, *, target: str | None = None, bins: int = HISTOGRAM_BINS,
                  top: int = TOP_CATEGORIES) -> dict[str, Any]:
    """A JSON-able profile: ``rows``, ``columns`` (name → column profile) and ``target``.

    A column profile has ``type`` (a ``ColumnType`` value), ``dtype``, ``missing``,
    ``missing_pct``, ``distinct``; numeric columns add ``min``/``max``/``mean``/``std``,
    ``quantiles`` (p5…p95) and a ``histogram`` of ``bins`` equal-width bins; other columns
    add ``top`` categories with counts and ``other`` (the count of the rest).
    """
    if target is not None and target not in frame.columns:
        choices = did_you_mean(target, map(str, frame.columns))
        raise SchemaError(f"target column '{target}' is not in the data. {choices}".rstrip())
    columns = {str(name): profile_column(frame[name], bins=bins, top=top) for name in frame.columns}
    return {
        "rows": int(len(frame)),
        "n_columns": int(frame.shape[1]),
        "columns": columns,
        "target": None if target is None else target_balance(frame[target], name=str(target)),
    }


def profile_column(values: pd.Series, *, bins: int = HISTOGRAM_BINS, top: int = TOP_CATEGORIES) -> dict[str, Any]:
    """One column's profile (see ``profile_frame``)."""
    n = len(values)
    missing = int(values.isna().sum())
    kind = infer_column_type(values)
    out: dict[str, Any] = {
        "type": kind.value,
        "dtype": str(values.dtype),
        "missing": missing,
        "missing_pct": round(100.0 * missing / n, 4) if n else 0.0,
        "distinct": int(values.nunique(dropna=True)),
    }
    if is_numeric(values):
        out.update(numeric_summary(values))
        if kind is not ColumnType.ID:
            out["histogram"] = histogram(values, bins=bins)
    elif kind is ColumnType.DATETIME:
        out.update(_date_range(values))
    else:
        out.update(top_categories(values, top=top))
    return out


def target_balance(values: pd.Series, *, name: str) -> dict[str, Any]:
    """Class shares of a categorical target, or a value summary of a numeric one."""
    present = values.dropna()
    base = {"column": name, "missing": int(values.isna().sum())}
    if is_numeric(values) and present.nunique() > _MAX_CLASSES:
        return {**base, "kind": "values", **numeric_summary(values)}
    counts = present.astype(str).value_counts()
    total = int(counts.sum())
    return {**base, "kind": "classes",
            "counts": {str(k): int(v) for k, v in counts.items()},
            "shares": {str(k): _float(v / total) for k, v in counts.items()} if total else {}}


def is_numeric(values: pd.Series) -> bool:
    """Numbers proper: numeric dtype, not booleans."""
    return bool(ptypes.is_numeric_dtype(values) and not ptypes.is_bool_dtype(values))


def numeric_summary(values: pd.Series) -> dict[str, Any]:
    present = _finite_values(values)
    if len(present) == 0:
        return {"min": None, "max": None, "mean": None, "std": None,
                "quantiles": {f"p{q}": None for q in QUANTILES}}
    quantiles = np.percentile(present, QUANTILES)
    return {
        "min": _float(present.min()),
        "max": _float(present.max()),
        "mean": _float(present.mean()),
        "std": _float(present.std(ddof=1)) if len(present) > 1 else 0.0,
        "quantiles": {f"p{q}": _float(v) for q, v in zip(QUANTILES, quantiles)},
    }


def histogram(values: pd.Series, *, bins: int = HISTOGRAM_BINS,
              edges: list[float] | None = None) -> dict[str, list[Any]]:
    """Counts in ``bins`` equal-width bins between min and max (or over the given ``edges``)."""
    present = _finite_values(values)
    if edges is None:
        if len(present) == 0:
            return {"edges": [], "counts": []}
        low, high = float(present.min()), float(present.max())
        if low == high:
            low, high = low - 0.5, high + 0.5
        edges = list(np.linspace(low, high, bins + 1))
    counts, _ = np.histogram(np.clip(present, edges[0], edges[-1]), bins=np.asarray(edges, dtype=float))
    return {"edges": [_float(e) for e in edges], "counts": [int(c) for c in counts]}


def top_categories(values: pd.Series, *, top: int = TOP_CATEGORIES) -> dict[str, Any]:
    counts = values.dropna().astype(str).value_counts()
    head = counts.iloc[:top]
    return {"top": [{"value": str(k), "count": int(v)} for k, v in head.items()],
            "other": int(counts.iloc[top:].sum())}


def _date_range(values: pd.Series) -> dict[str, Any]:
    dates = values if ptypes.is_datetime64_any_dtype(values) else \
        pd.to_datetime(values, errors="coerce", format="mixed")
    present = dates.dropna()
    if len(present) == 0:
        return {"min": None, "max": None}
    return {"min": present.min().isoformat(), "max": present.max().isoformat()}


def _finite_values(values: pd.Series) -> np.ndarray:
    array: np.ndarray = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite: np.ndarray = array[np.isfinite(array)]
    return finite


def _float(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None
