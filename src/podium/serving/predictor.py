"""Scoring validated records with a model package, doing the least work per call.

The request models have already checked every value, so the frame the pipeline sees is built
straight from the records in column order (one numpy array per column) instead of going
through the package's general-purpose ``conform``. A class label is read from the
probabilities (one pipeline call, not two). Whether this fast path gives the package's own
answers is checked when a model loads; where it does not, the package's path is used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn import config_context

from podium.serving.schema_models import class_label

__all__ = ["Predictor", "Scored"]

logger = logging.getLogger("podium.serving")

Scored = dict[str, Any]  # {"prediction": label or value, "probabilities": {class: p}}
Row = Sequence[Any]


class Predictor:
    """Scores rows (tuples in the schema's column order) with one model package."""

    def __init__(self, package: Any) -> None:
        self.package = package
        self.pipeline = package.pipeline
        schema = package.input_schema
        self.columns: list[str] = [str(c.name) for c in schema.columns]
        self._builders: list[Callable[[list[Any]], Any]] = [_column_builder(c) for c in schema.columns]
        output = package.output_schema
        self.task = str(output.task)
        self.classes: list[Any] = []
        if self.task != "regression":
            fitted = getattr(self.pipeline, "classes_", None)
            self.classes = [class_label(c) for c in (fitted if fitted is not None else output.classes)]
        self._class_keys = [str(c) for c in self.classes]
        self._classes_array = np.array(self.classes, dtype=object)
        self.fast = True
        self.engine = "sklearn"
        self._onnx: Any = None
        self.seconds_per_call = float("inf")  # measured by ``time_call``

    # -- the request path -------------------------------------------------------------------
    def predict(self, rows: Sequence[Row]) -> list[Scored]:
        """Score rows; raises what the pipeline raises (the caller maps it to a 4xx)."""
        if not rows:
            return []
        if self._onnx is not None:
            scored: list[Scored] = self._onnx.predict(rows)
            return scored
        if not self.fast:
            return self._predict_package(rows)
        frame = self.frame(rows)
        # Validated rows without a missing value hold finite numbers only: scikit-learn's
        # finiteness checks (a tenth of a call) can be skipped; the answer is checked instead.
        complete = not any(v is None for row in rows for v in row)
        with config_context(assume_finite=complete):
            if self.task == "regression":
                values = np.asarray(self.pipeline.predict(frame), dtype=float)
            else:
                values = np.asarray(self.pipeline.predict_proba(frame), dtype=float)
        if not np.isfinite(values).all():
            raise ValueError("the model gave a non-finite answer for this input")
        if self.task == "regression":
            return [{"prediction": v} for v in values.tolist()]
        return self.format_proba(values)

    def time_call(self, rows: Sequence[Row], repeat: int = 7) -> float:
        """The median seconds of one call on ``rows`` (decides inline scoring or a thread)."""
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            self.predict(rows)
            times.append(time.perf_counter() - started)
        self.seconds_per_call = sorted(times)[len(times) // 2]
        return self.seconds_per_call

    def format_proba(self, proba: np.ndarray) -> list[Scored]:
        labels = self._classes_array[proba.argmax(axis=1)].tolist()
        keys = self._class_keys
        return [{"prediction": label, "probabilities": dict(zip(keys, p))}
                for label, p in zip(labels, proba.tolist())]

    def frame(self, rows: Sequence[Row]) -> pd.DataFrame:
        """The pipeline's input: one column per feature, built from the rows directly."""
        data = {name: build([row[j] for row in rows])
                for j, (name, build) in enumerate(zip(self.columns, self._builders))}
        return pd.DataFrame(data, copy=False)

    # -- the reference path and the load-time check ------------------------------------------
    def _predict_package(self, rows: Sequence[Row]) -> list[Scored]:
        frame = pd.DataFrame([dict(zip(self.columns, row)) for row in rows], columns=self.columns)
        result, _notes = self.package.predict_frame(frame)
        return _scored_from_frame(result, self._class_keys)

    def check(self, rows: Sequence[Row], *, tolerance: float = 1e-6) -> str | None:
        """Compare the current path with the package's own on ``rows``: None when they agree.

        Rows the package itself cannot score are left out of the comparison.
        """
        usable, expected = [], []
        for row in rows:
            try:
                expected.extend(self._predict_package([row]))
            except Exception:  # noqa: BLE001  the package refuses this row: nothing to compare
                continue
            usable.append(row)
        if not usable:
            return None
        try:
            return compare(expected, self.predict(usable), tolerance=tolerance)
        except Exception as exc:  # noqa: BLE001
            return f"{type(exc).__name__}: {exc}"

    def use_package(self) -> None:
        """Score through the package's own path (its ``predict_frame``) from now on."""
        self.fast = False
        self._onnx = None
        self.engine = "package"

    def use_onnx(self, runner: Any) -> None:
        self._onnx = runner
        self.engine = "onnxruntime"

    def drop_onnx(self) -> None:
        self._onnx = None
        self.engine = "sklearn" if self.fast else "package"


def compare(expected: Sequence[Scored], got: Sequence[Scored], *, tolerance: float) -> str | None:
    """None when two scorings agree (labels equal, numbers within tolerance), else why not."""
    if len(expected) != len(got):
        return f"{len(got)} answers for {len(expected)} rows"
    for i, (a, b) in enumerate(zip(expected, got)):
        pa, pb = a["prediction"], b["prediction"]
        if isinstance(pa, float) and isinstance(pb, float):
            if abs(pa - pb) > tolerance * max(1.0, abs(pa)):
                return f"row {i}: value {pb} instead of {pa}"
        elif pa != pb:
            return f"row {i}: label {pb!r} instead of {pa!r}"
        qa, qb = a.get("probabilities") or {}, b.get("probabilities") or {}
        if qa.keys() != qb.keys():
            return f"row {i}: classes {list(qb)} instead of {list(qa)}"
        for key in qa:
            if abs(qa[key] - qb[key]) > tolerance:
                return f"row {i}: P({key}) = {qb[key]} instead of {qa[key]}"
    return None


def _scored_from_frame(result: pd.DataFrame, class_keys: list[str]) -> list[Scored]:
    predictions = [class_label(v) for v in result["prediction"].tolist()]
    if not class_keys:
        return [{"prediction": float(v)} for v in predictions]
    proba_columns = [f"proba_{k}" for k in class_keys]
    if all(c in result.columns for c in proba_columns):
        probas = result[proba_columns].to_numpy(dtype=float).tolist()
        return [{"prediction": p, "probabilities": dict(zip(class_keys, q))}
                for p, q in zip(predictions, probas)]
    return [{"prediction": p, "probabilities": {}} for p in predictions]


def _column_builder(column: Any) -> Callable[[list[Any]], Any]:
    """How one column's values become the array the pipeline was trained on (as ``conform``)."""
    dtype = str(getattr(column, "dtype", "object"))
    if dtype.startswith(("bool", "boolean")):
        return _booleans
    if dtype.startswith(("int", "uint", "float", "Int", "UInt", "Float")):
        return _floats
    if dtype.startswith("datetime64"):
        return _utc_datetimes if "UTC" in dtype or "," in dtype else _datetimes
    return _objects


def _floats(values: list[Any]) -> np.ndarray:
    return np.array(values, dtype=float)  # None becomes NaN


def _objects(values: list[Any]) -> np.ndarray:
    array = np.array(values, dtype=object)
    if None in values:  # a missing value reads as NaN from a file; imputers expect that marker
        array[array == None] = np.nan  # noqa: E711  (elementwise comparison)
    return array


def _booleans(values: list[Any]) -> np.ndarray:
    if None in values:
        return _objects(values)
    return np.array(values, dtype=bool)


def _datetimes(values: list[Any]) -> pd.DatetimeIndex:
    return pd.to_datetime(values, errors="coerce", format="mixed")


def _utc_datetimes(values: list[Any]) -> pd.DatetimeIndex:
    return pd.to_datetime(values, errors="coerce", format="mixed", utc=True)
