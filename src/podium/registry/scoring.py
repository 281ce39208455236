"""The engines a model package scores through: its compiled ONNX graph, or its scikit-learn pipeline.

Both take the model's typed input columns (``InputSchema.typed``) and answer in one call:
the predicted values (regression) or the class probabilities, from which the labels are read
(the most probable class). The ONNX engine needs numpy and onnxruntime only — no
scikit-learn, pandas or pickle — which is what lets a service's worker stay lean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from podium.data.types import ColumnType
from podium.registry.schema import InputSchema, TypedColumns

__all__ = ["Engine", "EngineInfo", "OnnxEngine", "Scores", "SklearnEngine", "ONNX", "SKLEARN",
           "FORECASTER", "GraphInput", "graph_inputs", "NUMBERS", "DATETIMES", "CATEGORIES", "INPUTS_KEY",
           "BY_KIND"]

ONNX: Literal["onnx"] = "onnx"
SKLEARN: Literal["sklearn"] = "sklearn"
#: a forecast package's engine: its pickled forecaster, which reads each request's histories
FORECASTER: Literal["forecaster"] = "forecaster"
EngineName = Literal["onnx", "sklearn", "forecaster"]


@dataclass(frozen=True)
class EngineInfo:
    """The package's ``engine`` block: what scores the model and, if not the graph, why."""

    name: EngineName
    file: str | None = None
    reason: str | None = None
    tolerance: float = 0.0
    checked_rows: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.file, "reason": self.reason,
                "tolerance": self.tolerance, "checked_rows": self.checked_rows}

    @classmethod
    def from_json(cls, block: dict[str, Any] | None) -> EngineInfo:
        if not block:  # a package written before engines: its pipeline is its engine
            return cls(SKLEARN, reason="written before podium compiled models")
        given = block.get("name")
        name: EngineName = ONNX if given == ONNX else FORECASTER if given == FORECASTER else SKLEARN
        return cls(name=name, file=block.get("file"), reason=block.get("reason"),
                   tolerance=float(block.get("tolerance") or 0.0), checked_rows=int(block.get("checked_rows") or 0))


@dataclass(frozen=True)
class Scores:
    """One scoring call's answer: ``values`` (regression) or ``labels`` with ``proba``."""

    values: np.ndarray  # labels (numbers/booleans, else objects) for classes, float64 values for regression
    proba: np.ndarray | None  # (N, classes) float64, columns in ``classes`` order


class Engine(Protocol):
    @property
    def name(self) -> str: ...

    def score(self, columns: TypedColumns) -> Scores: ...


def _labels(classes: Sequence[Any], proba: np.ndarray) -> np.ndarray:
    """The most probable class of each row, as numbers or booleans where every class is one
    (so they compare equal to the target column), else as objects."""
    typed = np.asarray(list(classes))
    if typed.dtype.kind not in "biuf":
        typed = np.array(list(classes), dtype=object)
    labels: np.ndarray = typed[proba.argmax(axis=1)]
    return labels


class SklearnEngine:
    """Scores with the fitted pipeline on ``pd.DataFrame(typed columns)``.

    ``legacy`` (a package podium 0.1.0 wrote, before typed columns): its pipeline was fitted
    on frames in their training dtypes, so the typed columns are turned back into those.
    """

    name = SKLEARN

    def __init__(self, pipeline: Any, task: str, classes: Sequence[Any], *,
                 legacy: InputSchema | None = None) -> None:
        self.pipeline = pipeline
        self.task = task
        self.classes = list(classes)
        self.legacy = legacy

    def score(self, columns: TypedColumns) -> Scores:
        import pandas as pd

        frame = pd.DataFrame(columns, copy=False) if self.legacy is None else _legacy_frame(self.legacy, columns)
        if self.task == "regression":
            return Scores(np.asarray(self.pipeline.predict(frame), dtype=np.float64), None)
        proba = np.asarray(self.pipeline.predict_proba(frame), dtype=np.float64)
        return Scores(_labels(self.classes, proba), proba)


def _legacy_frame(schema: InputSchema, columns: TypedColumns) -> Any:
    """What podium 0.1.0's pipelines were fitted on: categories with missing as NaN, booleans as
    bool, dates as timestamps (or ISO text where training read them as text)."""
    import pandas as pd

    data: dict[str, Any] = {}
    for column in schema.columns:
        values = columns[column.name]
        if column.kind == ColumnType.DATETIME:
            stamps = pd.to_datetime(pd.Series(values), unit="s", utc=True)
            data[column.name] = (stamps if column.dtype.startswith("datetime64")
                                 else stamps.dt.strftime("%Y-%m-%dT%H:%M:%S").where(stamps.notna()))
        elif column.kind == ColumnType.BOOLEAN and column.dtype.startswith("bool"):
            data[column.name] = pd.Series(values).map({1.0: True, 0.0: False})
        elif column.kind not in (ColumnType.NUMERIC, ColumnType.BOOLEAN):
            data[column.name] = pd.Series(values, dtype=object).replace("", np.nan)
        else:
            data[column.name] = values
    return pd.DataFrame(data)


#: the graph's inputs, one (N, k) tensor a kind of column, its columns in schema order: float32
#: for numbers and booleans, double for datetimes (epoch seconds do not fit float32), string
#: for categories. A kind the model does not take has no input.
NUMBERS, DATETIMES, CATEGORIES = "numbers", "datetimes", "categories"
#: the graph's metadata that says its inputs are by kind (a graph without it, compiled before,
#: takes one (N, 1) tensor a column, named after the column)
INPUTS_KEY, BY_KIND = "podium.inputs", "by_kind"


@dataclass(frozen=True)
class GraphInput:
    """One input of a compiled graph: its name, element type and columns (schema order)."""

    name: str
    dtype: Any  # np.float32, np.float64 or object
    columns: tuple[str, ...]


def graph_inputs(schema: InputSchema) -> list[GraphInput]:
    """The inputs of the graph compiled for ``schema``: numbers, datetimes, categories (those present)."""
    groups: dict[str, list[str]] = {NUMBERS: [], DATETIMES: [], CATEGORIES: []}
    for column in schema.columns:
        groups[_group(column.kind)].append(column.name)
    dtypes = {NUMBERS: np.float32, DATETIMES: np.float64, CATEGORIES: object}
    return [GraphInput(name, dtypes[name], tuple(columns)) for name, columns in groups.items() if columns]


def _group(kind: ColumnType) -> str:
    if kind in (ColumnType.NUMERIC, ColumnType.BOOLEAN):
        return NUMBERS
    return DATETIMES if kind == ColumnType.DATETIME else CATEGORIES


def _block_feed(inputs: Sequence[GraphInput], columns: TypedColumns) -> dict[str, np.ndarray]:
    """The graph's inputs (``graph_inputs``) from the typed columns: one (N, k) tensor a kind.

    A model takes its columns as a few blocks rather than a tensor each: onnxruntime's cost of
    an input dominates a single row's call (digits' 64 pixels: 100 µs a call as columns, 11
    as one block)."""
    feed: dict[str, np.ndarray] = {}
    for group in inputs:
        if group.dtype is object:
            rows = len(columns[group.columns[0]])
            texts = np.empty((rows, len(group.columns)), dtype=object)
            for i, name in enumerate(group.columns):
                texts[:, i] = columns[name]
            feed[group.name] = texts
        else:  # the columns end to end, then rows first in the graph's type: two numpy calls
            block: np.ndarray | None = getattr(columns, "block", None)  # typed from records: one block already
            if block is None or getattr(columns, "names", None) != group.columns:
                block = np.concatenate([columns[name] for name in group.columns]).reshape(len(group.columns), -1)
            feed[group.name] = np.ascontiguousarray(block.T, dtype=group.dtype)
    return feed


def _column_feed(schema: InputSchema, columns: TypedColumns) -> dict[str, np.ndarray]:
    """The inputs of a graph compiled before inputs by kind: one (N, 1) tensor a column."""
    feed: dict[str, np.ndarray] = {}
    for column in schema.columns:
        values = columns[column.name]
        group = _group(column.kind)
        feed[column.name] = values.reshape(-1, 1) if group == CATEGORIES else \
            values.astype(np.float32 if group == NUMBERS else np.float64).reshape(-1, 1)
    return feed


class OnnxEngine:
    """Scores with the compiled graph in an onnxruntime session."""

    name = ONNX

    def __init__(self, model: bytes, schema: InputSchema, task: str, classes: Sequence[Any], *,
                 threads: int | None = None) -> None:
        import onnxruntime as ort

        ort.disable_telemetry_events()  # a model scored here reports nothing to anyone
        options = ort.SessionOptions()
        if threads is not None:  # a serving worker: one core each (see serving/workers.py)
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # no busy-waiting between calls: workers and `podium predict` share their cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.schema = schema
        self.task = task
        self.classes = list(classes)
        outputs = [o.name for o in self.session.get_outputs()]
        self.output = outputs[-1] if task != "regression" else outputs[0]
        if task != "regression" and "probabilities" in outputs:
            self.output = "probabilities"
        by_kind = self.session.get_modelmeta().custom_metadata_map.get(INPUTS_KEY) == BY_KIND
        self.inputs = graph_inputs(schema) if by_kind else None  # None: a graph of a column each

    def score(self, columns: TypedColumns) -> Scores:
        feed = _block_feed(self.inputs, columns) if self.inputs is not None else _column_feed(self.schema, columns)
        (result,) = self.session.run([self.output], feed)
        if self.task == "regression":
            return Scores(np.asarray(result, dtype=np.float64).reshape(-1), None)
        proba = np.asarray(result, dtype=np.float64)
        return Scores(_labels(self.classes, proba), proba)
