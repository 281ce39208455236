"""Scoring validated records with a model package: the one scorer of the service.

The request models have already checked every value; the rows (tuples in the schema's column
order) become the model's typed columns through the package's own input path
(``InputSchema.typed``) and are scored by the package's engine — its compiled graph in
onnxruntime (one thread: one worker, one core), or its pipeline where it does not compile.
So the service answers what ``podium predict`` answers, by construction. Labels are read
from the probabilities: one engine call.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from podium.serving.schema_models import class_label

__all__ = ["Predictor", "Scored"]

Scored = dict[str, Any]  # {"prediction": label or value, "probabilities": {class: p}}
Row = Sequence[Any]

#: onnxruntime threads per worker: the service runs one worker a core (see workers.py)
THREADS = 1


class Predictor:
    """Scores rows (tuples in the schema's column order) with one model package."""

    def __init__(self, package: Any) -> None:
        self.package = package
        self.schema = package.input_schema
        self.columns: list[str] = list(self.schema.names)
        self.scorer = package.scorer(threads=THREADS)
        self.engine: str = str(package.engine.name)
        self.task = str(package.output_schema.task)
        self.classes: list[Any] = [class_label(c) for c in package.classes] if self.task != "regression" else []
        self._class_keys = [str(c) for c in self.classes]
        self.seconds_per_call = float("inf")  # measured by ``time_call``

    def predict(self, rows: Sequence[Row]) -> list[Scored]:
        """Score rows; raises what the input path or the engine raises (the caller maps it to a 4xx)."""
        if not rows:
            return []
        columns = dict(zip(self.columns, map(list, zip(*rows))))
        scores = self.scorer.score(self.schema.typed(columns))
        if self.task == "regression":
            values = scores.values
            if not np.isfinite(values).all():
                raise ValueError("the model gave a non-finite answer for this input")
            return [{"prediction": v} for v in values.tolist()]
        proba = scores.proba
        if proba is None or not np.isfinite(proba).all():
            raise ValueError("the model gave a non-finite answer for this input")
        keys = self._class_keys
        labels = [class_label(v) for v in scores.values.tolist()]
        return [{"prediction": label, "probabilities": dict(zip(keys, p))}
                for label, p in zip(labels, proba.tolist())]

    def time_call(self, rows: Sequence[Row], repeat: int = 7) -> float:
        """The median seconds of one call on ``rows`` (decides inline scoring or a thread)."""
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            self.predict(rows)
            times.append(time.perf_counter() - started)
        self.seconds_per_call = sorted(times)[len(times) // 2]
        return self.seconds_per_call
