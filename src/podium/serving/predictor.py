"""Scoring validated records with a model package: the one scorer of the service.

The request models have already checked every value; the records (``RecordColumns``, or rows:
tuples in the schema's column order) become the model's typed columns through the package's
own input path (``InputSchema.typed``) and are scored by the package's engine — its compiled
graph in onnxruntime (one thread: one worker, one core), or its pipeline where it does not
compile. So the service answers what ``podium predict`` answers, by construction. Labels are
read from the probabilities: one engine call.

The answer (``Predictions``) keeps the engine's arrays: a batch's JSON is written from them
without a Python object per row, and a row's ``{"prediction": …, "probabilities": {…}}`` is
made only where one is read (the single-record answer, the prediction log's sample).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np
import orjson

from podium.serving.schema_models import RecordColumns, class_label

__all__ = ["Predictor", "Predictions", "Scored"]

Scored = dict[str, Any]  # {"prediction": label or value, "probabilities": {class: p}}
Row = Sequence[Any]

#: onnxruntime threads per worker: the service runs one worker a core (see workers.py)
THREADS = 1


class _Form:
    """What every answer of one model shares: its task, classes and the JSON around its numbers."""

    def __init__(self, task: str, classes: Sequence[Any]) -> None:
        self.task = task
        self.classes = [class_label(c) for c in classes]
        self.keys = [str(c) for c in self.classes]
        # a row of a classifier's batch answer is PREFIX[label] p0 SEPARATOR[1] p1 … p(K-1) END
        keys = [orjson.dumps(k) for k in self.keys]
        self.prefix = [b'{"prediction":' + orjson.dumps(c) + b',"probabilities":{' + (keys[0] if keys else b"")
                       + b":" for c in self.classes]
        self.separators = [b"," + k + b":" for k in keys]


class Predictions(Sequence[Scored]):
    """The answers to a call, in order: a regressor's values, or a classifier's probabilities
    (the label of a row is its most probable class, as the engine reads it)."""

    __slots__ = ("form", "values", "proba", "best")

    def __init__(self, form: _Form, values: np.ndarray | None, proba: np.ndarray | None,
                 best: np.ndarray | None = None) -> None:
        self.form = form
        self.values = values  # regression: float64 (N,)
        self.proba = proba  # classification: float64 (N, classes)
        self.best = best if best is not None or proba is None else proba.argmax(axis=1)  # each row's class

    def __len__(self) -> int:
        return len(self.values if self.values is not None else self.proba)  # type: ignore[arg-type]

    @overload
    def __getitem__(self, i: int) -> Scored: ...

    @overload
    def __getitem__(self, i: slice) -> Predictions: ...

    def __getitem__(self, i: int | slice) -> Scored | Predictions:
        if isinstance(i, slice):
            if self.values is not None:
                return Predictions(self.form, self.values[i], None)
            assert self.proba is not None and self.best is not None
            return Predictions(self.form, None, self.proba[i], self.best[i])
        if self.values is not None:
            return {"prediction": self.values[i].item()}
        assert self.proba is not None and self.best is not None
        return {"prediction": self.form.classes[int(self.best[i])],
                "probabilities": dict(zip(self.form.keys, self.proba[i].tolist()))}

    def __iter__(self) -> Iterator[Scored]:
        return (self[i] for i in range(len(self)))

    def label_counts(self) -> dict[str, int]:
        """Rows by predicted class (its text); a regressor's: every row under ``""``."""
        if self.best is None:
            return {"": len(self)}
        counts = np.bincount(self.best, minlength=len(self.form.keys))
        return {self.form.keys[k]: int(n) for k, n in enumerate(counts.tolist()) if n}

    def json(self) -> bytes:
        """The JSON list of the answers, ``[{"prediction": …, "probabilities": {…}}, …]``: the
        bytes ``orjson.dumps(list(self))`` gives, written from the arrays in a few calls."""
        if not len(self):
            return b"[]"
        if self.values is not None:
            numbers = orjson.dumps(self.values, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",")
            return b'[{"prediction":' + b'},{"prediction":'.join(numbers) + b"}]"
        assert self.proba is not None and self.best is not None
        k = self.proba.shape[1]
        numbers = orjson.dumps(np.ascontiguousarray(self.proba).ravel(),
                               option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",")
        stride = 2 * k + 1
        parts: list[bytes] = [b""] * (len(self) * stride)
        prefix = self.form.prefix
        parts[0::stride] = [prefix[i] for i in self.best.tolist()]
        parts[1::stride] = numbers[0::k]
        for c in range(1, k):
            parts[2 * c::stride] = [self.form.separators[c]] * len(self)
            parts[2 * c + 1::stride] = numbers[c::k]
        parts[2 * k::stride] = [b"}},"] * len(self)
        parts[-1] = b"}}"
        return b"[" + b"".join(parts) + b"]"


class Predictor:
    """Scores records (``RecordColumns``, or rows in the schema's column order) with one model package."""

    def __init__(self, package: Any) -> None:
        self.package = package
        self.schema = package.input_schema
        self.columns: list[str] = list(self.schema.names)
        self.scorer = package.scorer(threads=THREADS)
        self.engine: str = str(package.engine.name)
        self.task = str(package.output_schema.task)
        self.form = _Form(self.task, package.classes if self.task != "regression" else [])
        self.classes: list[Any] = self.form.classes
        self.seconds_per_call = float("inf")  # measured by ``time_call``

    def predict(self, records: RecordColumns | Sequence[Row]) -> Predictions:
        """Score records; raises what the input path or the engine raises (the caller maps it to a 4xx)."""
        if not isinstance(records, RecordColumns):
            records = RecordColumns.from_rows(self.columns, records)
        if not len(records):
            return Predictions(self.form, np.empty(0), None) if self.task == "regression" else \
                Predictions(self.form, None, np.empty((0, len(self.classes))))
        scores = self.scorer.score(self.schema.typed(records.data))
        if self.task == "regression":
            values = np.asarray(scores.values, dtype=np.float64)
            if not np.isfinite(values).all():
                raise ValueError("the model gave a non-finite answer for this input")
            return Predictions(self.form, values, None)
        proba = scores.proba
        if proba is None or not np.isfinite(proba).all():
            raise ValueError("the model gave a non-finite answer for this input")
        return Predictions(self.form, None, np.asarray(proba, dtype=np.float64))

    def time_call(self, rows: Sequence[Row], repeat: int = 7) -> float:
        """The median seconds of one call on ``rows`` (decides inline scoring or a thread)."""
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            self.predict(rows)
            times.append(time.perf_counter() - started)
        self.seconds_per_call = sorted(times)[len(times) // 2]
        return self.seconds_per_call
