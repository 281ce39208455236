from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin

from podium.data.types import ColumnType
from podium.steps import OneHotParams, check_transform_step


class _Broken(TransformerMixin, BaseEstimator):
    """A transformer that breaks one promise at a time, chosen by ``flaw``."""

    def __init__(self, *, flaw: str = "none") -> None:
        self.flaw = flaw

    def fit(self, X, y=None):
        if self.flaw == "mutates":
            self.flaw = "mutated"
        self.columns_ = list(X.columns)
        self.seen_ = set(X["c"])
        return self

    def transform(self, X):
        if not hasattr(self, "columns_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("not fitted")
        if self.flaw == "ndarray":
            return X.to_numpy()
        if self.flaw == "unseen" and not set(X["c"]) <= self.seen_ | {""}:
            raise KeyError("unseen")
        if self.flaw == "names":
            return X.rename(columns=str.upper)
        return X[self.columns_]

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.columns_, dtype=object)


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0], "c": np.array(["a", "b", "a", ""], dtype=object)})


def test_a_sound_transformer_passes(frame):
    check_transform_step(_Broken(), frame, onnx=False)  # no converter: a plugin without one skips ONNX
    check_transform_step(OneHotParams(), frame, {"x": ColumnType.NUMERIC, "c": ColumnType.CATEGORICAL})


def test_a_transformer_without_a_converter_fails_the_onnx_check(frame):
    with pytest.raises(AssertionError, match="_Broken .*ONNX conversion failed"):
        check_transform_step(_Broken(), frame)


@pytest.mark.parametrize(("flaw", "message"), [
    ("mutates", "fit changed the parameters"),
    ("ndarray", "transform returned ndarray, not a DataFrame"),
    ("unseen", "transform failed on unseen categories"),
    ("names", r"differ from get_feature_names_out\(\)"),
])
def test_each_broken_promise_is_named(frame, flaw, message):
    with pytest.raises(AssertionError, match=rf"_Broken: .*{message}"):
        check_transform_step(_Broken(flaw=flaw), frame, onnx=False)
