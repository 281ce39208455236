"""The ONNX Runtime scoring path, used when a model's pipeline converts (skl2onnx).

A converted pipeline scores a row in tens of microseconds instead of scikit-learn's
milliseconds of per-call overhead, and needs no DataFrame: each column goes in as its own
(n, 1) array. Conversion is tried when a model loads; a pipeline that does not convert (a
custom step, a missing-value marker the converter does not know) or whose answers differ
from scikit-learn's on the check rows keeps the scikit-learn path. Both libraries are
optional: without them nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["OnnxRunner", "try_onnx", "convert"]

logger = logging.getLogger("podium.serving")

ONNX_TOLERANCE = 1e-4  # float32 inside the converted model


class OnnxRunner:
    """Scores rows (tuples in column order) with an ONNX Runtime session."""

    def __init__(self, model_bytes: bytes, columns: list[tuple[str, str]], predictor: Any) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one worker, one core: see workers.py
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
        self.columns = columns  # (name, "float" | "string")
        self.predictor = predictor
        outputs = [o.name for o in self.session.get_outputs()]
        self.output = "probabilities" if predictor.task != "regression" else outputs[0]
        if self.output not in outputs:
            raise ValueError(f"the converted model has no '{self.output}' output ({outputs})")

    def feed(self, rows: Sequence[Sequence[Any]]) -> dict[str, np.ndarray]:
        data: dict[str, np.ndarray] = {}
        for j, (name, kind) in enumerate(self.columns):
            if kind == "float":
                data[name] = np.array([row[j] for row in rows], dtype=np.float32).reshape(-1, 1)
            else:  # a missing category is the empty string, the marker the pipeline was converted with
                data[name] = np.array(["" if row[j] is None else str(row[j]) for row in rows],
                                      dtype=object).reshape(-1, 1)
        return data

    def predict(self, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        (result,) = self.session.run([self.output], self.feed(rows))
        if self.predictor.task == "regression":
            return [{"prediction": v} for v in np.asarray(result, dtype=float).reshape(-1).tolist()]
        scored: list[dict[str, Any]] = self.predictor.format_proba(np.asarray(result, dtype=float))
        return scored


def convert(pipeline: Any, columns: list[tuple[str, str]]) -> bytes:
    """The pipeline as an ONNX model (bytes); raises when it does not convert."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    types = [(name, FloatTensorType([None, 1]) if kind == "float" else StringTensorType([None, 1]))
             for name, kind in columns]
    options = {id(pipeline): {"zipmap": False}} if hasattr(pipeline, "predict_proba") else None
    model: bytes = convert_sklearn(pipeline, initial_types=types, options=options).SerializeToString()
    return model


def try_onnx(predictor: Any, rows: Sequence[Sequence[Any]]) -> str | None:
    """Switch ``predictor`` to ONNX Runtime if its pipeline converts and agrees on ``rows``.

    Returns a note saying why it did not, or None when the ONNX path is on.
    """
    columns = _onnx_columns(predictor.package.input_schema)
    if columns is None:
        return "onnx: a column kind the converter does not take (boolean, datetime)"
    try:
        import onnxruntime  # noqa: F401
        import skl2onnx  # noqa: F401
    except ImportError:
        return "onnx: skl2onnx and onnxruntime are not installed"
    try:
        runner = OnnxRunner(convert(predictor.pipeline, columns), columns, predictor)
    except Exception as exc:  # noqa: BLE001  any converter failure means: keep scikit-learn
        return f"onnx: the pipeline does not convert ({type(exc).__name__}: {_first_line(exc)})"
    predictor.use_onnx(runner)
    problem = predictor.check(rows, tolerance=ONNX_TOLERANCE)
    if problem:
        predictor.drop_onnx()
        return f"onnx: answers differ from scikit-learn ({problem})"
    return None


def _onnx_columns(input_schema: Any) -> list[tuple[str, str]] | None:
    columns = []
    for column in input_schema.columns:
        kind = str(getattr(column, "kind", ""))
        dtype = str(getattr(column, "dtype", "object"))
        if kind == "numeric":
            columns.append((str(column.name), "float"))
        elif kind in ("categorical", "text") and not dtype.startswith(("int", "uint", "float", "bool")):
            columns.append((str(column.name), "string"))
        else:
            return None
    return columns


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""
