"""Encoders: ``one_hot`` and ``ordinal_encode`` turn categories into numbers.

In a typed frame a category is a string and a missing one is "" (``MISSING_TEXT``).
``one_hot`` is scikit-learn's ``OneHotEncoder`` (rare and unseen categories share the
'<column>_other' column); podium's subclass only adds ``blank`` (what "" becomes) and carries
an ONNX converter that handles infrequent and unseen categories. ``ordinal_encode`` is
scikit-learn's ``OrdinalEncoder``.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field
from sklearn import preprocessing
from sklearn.base import TransformerMixin

from podium.steps.base import StepInfo, register_step
from podium.steps.compose import ColumnStep, Kind
from podium.steps.impute import MISSING_TEXT

__all__ = ["OneHotEncoder", "OneHotParams", "OrdinalEncodeParams", "category_name"]

#: the category scikit-learn's OneHotEncoder names the column of rare (and unseen) categories
_INFREQUENT = "infrequent_sklearn"


def category_name(column: str, category: Any) -> str:
    """The output column of one category: '<column>_<category>', '<column>_other', '<column>_missing'."""
    text = str(category)
    if text == _INFREQUENT:
        text = "other"
    elif text == MISSING_TEXT:
        text = "missing"
    return f"{column}_{text}"


class OneHotEncoder(preprocessing.OneHotEncoder):  # type: ignore[misc]
    """scikit-learn's OneHotEncoder with ``blank``: "category" keeps the missing value ""
    as a category like any other, "zeros" encodes it as all zeros."""

    def __init__(self, *, categories: Any = "auto", drop: Any = None, sparse_output: bool = True,
                 dtype: Any = np.float64, handle_unknown: str = "error", min_frequency: Any = None,
                 max_categories: int | None = None, feature_name_combiner: Any = "concat",
                 blank: str = "category") -> None:
        super().__init__(categories=categories, drop=drop, sparse_output=sparse_output, dtype=dtype,
                         handle_unknown=handle_unknown, min_frequency=min_frequency,
                         max_categories=max_categories, feature_name_combiner=feature_name_combiner)
        self.blank = blank

    def fit(self, X: Any, y: Any = None) -> OneHotEncoder:
        if self.blank not in ("category", "zeros"):
            raise ValueError(f"blank must be 'category' or 'zeros', not {self.blank!r}")
        if self.blank == "zeros" and (self.drop is not None or self.sparse_output):
            raise ValueError("blank='zeros' needs drop=None and sparse_output=False")
        super().fit(X, y)
        return self

    def blocks(self) -> list[tuple[list[Any], bool, int | None]]:
        """Each feature's output: its own categories in order, whether an 'other' column
        follows, and the position of "" among them when ``blank="zeros"`` drops it."""
        out: list[tuple[list[Any], bool, int | None]] = []
        for j, cats in enumerate(self.categories_):
            rare = self.infrequent_categories_[j] if self.infrequent_categories_ else None
            rare_set = set(rare.tolist()) if rare is not None else set()
            own = [c for c in cats.tolist() if c not in rare_set]
            blank = own.index(MISSING_TEXT) if self.blank == "zeros" and MISSING_TEXT in own else None
            out.append((own, bool(rare_set), blank))
        return out

    def transform(self, X: Any) -> Any:
        # the parent's own transform: its set_output wrapper would name 'zeros' output wrongly
        encoded = inspect.unwrap(preprocessing.OneHotEncoder.transform)(self, X)
        if self.blank != "zeros":
            return encoded
        values = np.asarray(X, dtype=object)
        keep: list[int] = []
        start = 0
        for j, (own, other, blank) in enumerate(self.blocks()):
            width = len(own) + other
            encoded[values[:, j] == MISSING_TEXT, start:start + width] = 0.0
            keep.extend(start + i for i in range(width) if i != blank)
            start += width
        return encoded[:, keep]

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        names = super().get_feature_names_out(input_features)
        if self.blank != "zeros":
            return names
        drop, start = [], 0
        for own, other, blank in self.blocks():
            if blank is not None:
                drop.append(start + blank)
            start += len(own) + other
        return np.delete(names, drop)


class OneHotParams(ColumnStep):
    """One 0/1 column per category; rare and unseen categories share '<column>_other'."""

    step_name: ClassVar[str] = "one_hot"
    picks: ClassVar[tuple[Kind, ...]] = ("categorical",)
    accepts: ClassVar[tuple[Kind, ...]] = ("categorical", "numeric")
    keeps_names: ClassVar[bool] = False

    max_categories: int | None = Field(
        20, ge=2, description="columns per feature at most: the most frequent categories keep "
                              "their own, the rest (and unseen ones) share '<column>_other'; "
                              "no limit when null")
    missing: Literal["indicator", "zeros"] = Field(
        "indicator", description="a missing value: its own '<column>_missing' column "
                                 "(when training had any), or all zeros")
    columns: list[str] | None = Field(
        None, description="only these columns (numbers are then treated as categories); "
                          "all categorical columns when omitted")

    def transformer(self, kind: Kind) -> TransformerMixin:
        return OneHotEncoder(max_categories=self.max_categories, handle_unknown="infrequent_if_exist",
                             sparse_output=False, feature_name_combiner=category_name,
                             blank="category" if self.missing == "indicator" else "zeros")

    def output_kind(self, kind: Kind) -> Kind:
        return "numeric"


class OrdinalEncodeParams(ColumnStep):
    """One number per category (in sorted order); an unseen category is -1."""

    step_name: ClassVar[str] = "ordinal_encode"
    picks: ClassVar[tuple[Kind, ...]] = ("categorical",)
    accepts: ClassVar[tuple[Kind, ...]] = ("categorical", "numeric")

    columns: list[str] | None = Field(
        None, description="only these columns (numbers are then treated as categories); "
                          "all categorical columns when omitted")

    def transformer(self, kind: Kind) -> TransformerMixin:
        return preprocessing.OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                            dtype=np.float64)

    def output_kind(self, kind: Kind) -> Kind:
        return "numeric"


register_step(StepInfo(
    name="one_hot", kind="transform", params=OneHotParams, factory=lambda p: p,
    summary="one 0/1 column per category (rare and unseen ones grouped as 'other')",
))
register_step(StepInfo(
    name="ordinal_encode", kind="transform", params=OrdinalEncodeParams, factory=lambda p: p,
    summary="categories to numbers (unseen → -1)",
))


def __getattr__(name: str) -> Any:
    """podium 0.1.0 pickled its encoders here: OneHot and OrdinalEncode are the frozen legacy classes."""
    if name in ("OneHot", "OrdinalEncode"):
        from podium.steps import legacy

        return getattr(legacy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
