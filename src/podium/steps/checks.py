"""A conformance check for transform steps, ours and plugins' alike.

``check_transform_step(transformer, frame)`` fits the transformer on ``frame`` and
asserts what a podium pipeline relies on; it raises ``AssertionError`` saying which
promise was broken.
"""

from __future__ import annotations

import pickle
from typing import Any

import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from podium.steps.base import column_kind

__all__ = ["check_transform_step", "UNSEEN"]

#: the category the check sends that no training frame holds
UNSEEN = "__podium_unseen__"


def check_transform_step(transformer: Any, frame: pd.DataFrame) -> None:
    """Assert the contract of a transform step on a sample ``frame`` (a few rows, some missing).

    clone gives equal parameters; ``fit`` returns self and leaves the parameters alone;
    ``transform`` before ``fit`` raises NotFittedError; the output is a DataFrame with the
    input's index and the columns of ``get_feature_names_out``; ``fit_transform`` agrees
    with ``fit`` then ``transform``; a pickle round trip and reordered input columns give
    the same output; a single row, unseen categories and all-missing rows transform
    without error into the same columns.
    """
    name = type(transformer).__name__
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

    for what, odd in (("unseen categories", _unseen(frame)), ("all-missing rows", _all_missing(frame))):
        try:
            result = fitted.transform(odd)
        except Exception as exc:  # noqa: BLE001 - reported as the broken promise
            raise AssertionError(f"{name}: transform failed on {what}: {exc!r}") from exc
        _assert(list(result.columns) == list(out.columns), name, f"{what} changed the output columns")


def _unseen(frame: pd.DataFrame) -> pd.DataFrame:
    odd = frame.copy()
    for column in odd.columns:
        if column_kind(odd[column]) == "categorical":
            odd[column] = odd[column].astype(object)
            odd.loc[odd.index[0], column] = UNSEEN
    return odd


def _all_missing(frame: pd.DataFrame) -> pd.DataFrame:
    # columns that cannot hold a missing value are widened the way a data source would
    widened: dict[Any, Any] = {}
    for column in frame.columns:
        if column_kind(frame[column]) == "boolean":
            widened[column] = object
        elif pd.api.types.is_integer_dtype(frame[column].dtype):
            widened[column] = "float64"
    odd = frame.astype(widened)
    odd.iloc[:2] = None
    return odd


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(a[k] is b[k] or a[k] == b[k] for k in a)


def _assert(ok: bool, name: str, problem: str) -> None:
    if not ok:
        raise AssertionError(f"{name}: {problem}")


def _assert_frames(got: pd.DataFrame, expected: pd.DataFrame, name: str, problem: str) -> None:
    try:
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    except AssertionError as exc:
        raise AssertionError(f"{name}: {problem}: {exc}") from None
