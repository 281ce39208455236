"""A conformance check for transform steps, ours and plugins' alike.

``check_transform_step(step, frame, kinds)`` fits the step on a typed ``frame`` and asserts
what a podium pipeline relies on, then converts the fitted step to ONNX (when skl2onnx and
onnxruntime are installed) and compares what onnxruntime computes with ``transform``. It
raises ``AssertionError`` saying which promise was broken.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from podium.data.types import ColumnType
from podium.steps.compose import ColumnStep, Kind, compose_steps, value_kind

__all__ = ["check_transform_step", "check_onnx", "step_transformer", "UNSEEN", "ONNX_TOLERANCE"]

#: the category the check sends that no training frame holds
UNSEEN = "__podium_unseen__"

#: how far a converted step may be from ``transform`` (numbers go through float32 in the graph)
ONNX_TOLERANCE = 1e-4


def step_transformer(step: Any, kinds: Mapping[str, ColumnType | str], name: str | None = None) -> Any:
    """A podium step alone as a transformer on the typed columns ``kinds`` (DataFrame out)."""
    if not isinstance(step, ColumnStep):
        return step
    ((_, features),) = compose_steps([(name or step.step_name, step)], kinds, frame_output=True)
    return features


def check_transform_step(step: Any, frame: pd.DataFrame,
                         kinds: Mapping[str, ColumnType | str] | None = None, *,
                         onnx: bool = True) -> None:
    """Assert the contract of a transform step on a typed sample ``frame`` (a few rows, some missing).

    ``step`` is a ``ColumnStep`` (composed for ``kinds``) or a transformer. ``kinds`` gives
    each column's ColumnType; when omitted, float columns are numeric and the others
    categorical. clone gives equal parameters; ``fit`` returns self and leaves the parameters
    alone; ``transform`` before ``fit`` raises NotFittedError; the output is a DataFrame with
    the input's index and the columns of ``get_feature_names_out``; ``fit_transform`` agrees
    with ``fit`` then ``transform``; a pickle round trip and reordered input columns give the
    same output; a single row, unseen categories and all-missing rows transform without
    error into the same columns; with ``onnx``, the ONNX graph computes what ``transform`` does.
    """
    kinds = dict(kinds) if kinds is not None else _kinds_of(frame)
    transformer = step_transformer(step, kinds)
    name = type(step).__name__
    params = transformer.get_params(deep=False)
    fresh = clone(transformer)
    _assert(_same(fresh.get_params(deep=False), params), name, "clone changed the parameters")
    try:
        fresh.transform(frame)
    except NotFittedError:
        pass
    else:
        raise AssertionError(f"{name}: transform before fit must raise NotFittedError")

    fitted = clone(transformer)
    _assert(fitted.fit(frame) is fitted, name, "fit must return self")
    _assert(_same(fitted.get_params(deep=False), params), name, "fit changed the parameters")
    out = fitted.transform(frame)
    _assert(isinstance(out, pd.DataFrame), name, f"transform returned {type(out).__name__}, not a DataFrame")
    _assert(out.index.equals(frame.index), name, "transform changed the index")
    names = [str(c) for c in out.columns]
    _assert(names == list(fitted.get_feature_names_out()), name,
            f"columns {names} differ from get_feature_names_out()")

    _assert_frames(clone(transformer).fit_transform(frame), out, name, "fit_transform differs from fit + transform")
    _assert_frames(pickle.loads(pickle.dumps(fitted)).transform(frame), out, name,
                   "the unpickled step transforms differently")
    _assert_frames(fitted.transform(frame[list(frame.columns)[::-1]]), out, name,
                   "reordering the input columns changed the output")
    _assert_frames(fitted.transform(frame.iloc[[0]]), out.iloc[[0]], name, "one row transforms differently")

    odd_frames = (("unseen categories", _unseen(frame, kinds)), ("all-missing rows", _all_missing(frame, kinds)))
    for what, odd in odd_frames:
        try:
            result = fitted.transform(odd)
        except Exception as exc:  # noqa: BLE001 - reported as the broken promise
            raise AssertionError(f"{name}: transform failed on {what}: {exc!r}") from exc
        _assert(list(result.columns) == list(out.columns), name, f"{what} changed the output columns")

    if onnx and _converters_installed():
        for what, rows in (("the sample", frame), *odd_frames):
            check_onnx(fitted, rows, kinds, name=f"{name} ({what})")


def check_onnx(fitted: Any, frame: pd.DataFrame, kinds: Mapping[str, ColumnType | str], *,
               name: str | None = None, tolerance: float = ONNX_TOLERANCE) -> None:
    """Convert a fitted transformer on typed columns to ONNX and compare onnxruntime with ``transform``.

    Each column is an (N, 1) graph input: float32 for numeric and boolean columns, double for
    datetime (epoch seconds), string for the others.
    """
    import onnxruntime
    from skl2onnx import convert_sklearn

    from podium.steps.onnx import register_converters

    register_converters()
    name = name or type(fitted).__name__
    columns = [str(c) for c in kinds if str(c) in frame.columns]
    try:
        graph = convert_sklearn(fitted, initial_types=[(c, _tensor_type(value_kind(kinds[c]))) for c in columns])
    except Exception as exc:  # noqa: BLE001 - reported as the broken promise
        raise AssertionError(f"{name}: ONNX conversion failed: {exc!r}") from exc
    feed = {c: _feed(frame[c], value_kind(kinds[c])) for c in columns}
    try:
        session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
        got = session.run(None, feed)[0]
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"{name}: onnxruntime failed on the converted step: {exc!r}") from exc
    expected = fitted.transform(frame)
    expected = expected.to_numpy() if isinstance(expected, pd.DataFrame) else np.asarray(expected)
    _assert(got.shape == expected.shape, name, f"ONNX output shape {got.shape} differs from {expected.shape}")
    for j in range(expected.shape[1]):
        want, have = expected[:, j], got[:, j]
        numbers = _as_numbers(want)
        if numbers is None:
            same = [str(a) for a in have] == [str(b) for b in want]
        else:
            values = _as_numbers(have)
            same = values is not None and bool(np.allclose(values, numbers, rtol=tolerance, atol=tolerance,
                                                           equal_nan=True))
        _assert(same, name, f"ONNX output column {j} differs from transform: {have.tolist()} != {want.tolist()}")


def _converters_installed() -> bool:
    try:
        import onnxruntime  # noqa: F401
        import skl2onnx  # noqa: F401
    except ImportError:
        return False
    return True


def _tensor_type(kind: Kind) -> Any:
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType

    return {"numeric": FloatTensorType, "datetime": DoubleTensorType, "categorical": StringTensorType}[kind]([None, 1])


def _feed(values: pd.Series, kind: Kind) -> np.ndarray:
    dtype = object if kind == "categorical" else np.float32 if kind == "numeric" else np.float64
    return np.asarray(values.to_numpy(dtype=dtype)).reshape(-1, 1)


def _as_numbers(values: np.ndarray) -> np.ndarray | None:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _kinds_of(frame: pd.DataFrame) -> dict[str, ColumnType]:
    return {str(c): ColumnType.NUMERIC if pd.api.types.is_float_dtype(frame[c].dtype) else ColumnType.CATEGORICAL
            for c in frame.columns}


def _unseen(frame: pd.DataFrame, kinds: Mapping[str, ColumnType | str]) -> pd.DataFrame:
    odd = frame.copy()
    for column in odd.columns:
        if column in kinds and value_kind(kinds[column]) == "categorical":
            odd[column] = odd[column].astype(object)
            odd.loc[odd.index[0], column] = UNSEEN
    return odd


def _all_missing(frame: pd.DataFrame, kinds: Mapping[str, ColumnType | str]) -> pd.DataFrame:
    odd = frame.copy()
    for column in odd.columns:
        categorical = column not in kinds or value_kind(kinds[column]) == "categorical"
        odd[column] = odd[column].astype(object if categorical else np.float64)
        odd.loc[odd.index[:2], column] = "" if categorical else np.nan
    return odd


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(a[k] is b[k] or _equal(a[k], b[k]) for k in a)


def _equal(a: Any, b: Any) -> bool:
    try:
        if bool(a == b):
            return True
    except (TypeError, ValueError):
        pass
    return repr(a) == repr(b)  # estimators inside parameters (a ColumnTransformer's) compare by repr


def _assert(ok: bool, name: str, problem: str) -> None:
    if not ok:
        raise AssertionError(f"{name}: {problem}")


def _assert_frames(got: pd.DataFrame, expected: pd.DataFrame, name: str, problem: str) -> None:
    try:
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    except AssertionError as exc:
        raise AssertionError(f"{name}: {problem}: {exc}") from None
