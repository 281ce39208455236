"""Encoders: ``one_hot`` and ``ordinal_encode`` turn categories into numbers.

Both see categories as strings (``as_text``) so that a category sent as ``"1"`` at
prediction time meets the ``1`` seen in training, and both answer a category never
seen in training without failing.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from podium.steps.base import ColumnStep, Kind, StepInfo, StepParams, as_text, register_step

__all__ = ["OneHot", "OneHotParams", "OrdinalEncode", "OrdinalEncodeParams"]

_ANY_KIND: tuple[Kind, ...] = ("numeric", "categorical", "boolean", "datetime")


class OneHotParams(StepParams):
    """One 0/1 column per category; rare categories share '<column>_other'."""

    max_categories: int | None = Field(
        20, ge=2, description="columns per feature at most: the most frequent categories keep "
                              "their own, the rest share '<column>_other'; no limit when null")
    missing: Literal["indicator", "zeros"] = Field(
        "indicator", description="a missing value: its own '<column>_missing' column "
                                 "(when training had any), or all zeros")
    columns: list[str] | None = Field(
        None, description="only these columns (numbers are then treated as categories); "
                          "all categorical and boolean columns when omitted")


class OrdinalEncodeParams(StepParams):
    """One integer column per feature: categories numbered by frequency."""

    columns: list[str] | None = Field(
        None, description="only these columns (numbers are then treated as categories); "
                          "all categorical and boolean columns when omitted")


# characters some estimators refuse in feature names (LightGBM: JSON ones; XGBoost: [ ] <)
_UNSAFE = re.compile(r'[\[\]<>{}":,\\]')


def _name(column: Hashable, category: str) -> str:
    """The output column of one category, safe as a feature name for every estimator."""
    return f"{column}_{_UNSAFE.sub('_', category)}"


def _by_frequency(text: pd.Series) -> list[str]:
    """Present categories, most frequent first; ties in string order so fits are reproducible."""
    counts = text.value_counts(dropna=True)
    return [str(k) for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]


class OneHot(ColumnStep):
    """One-hot encoding. A category unseen in training gives all zeros."""

    step_name = "one_hot"
    params_model = OneHotParams
    kinds: tuple[Kind, ...] = ("categorical", "boolean")
    named_kinds = _ANY_KIND

    def __init__(self, *, max_categories: int | None = 20, missing: str = "indicator",
                 columns: list[str] | None = None) -> None:
        self.max_categories = max_categories
        self.missing = missing
        self.columns = columns

    def _learn(self, frame: pd.DataFrame, columns: list[Hashable]) -> dict[Hashable, list[Hashable]]:
        self.categories_: dict[Hashable, list[str]] = {}
        self.infrequent_: dict[Hashable, list[str]] = {}
        self.missing_column_: dict[Hashable, bool] = {}
        self.lookup_: dict[Hashable, pd.Index] = {}
        names: dict[Hashable, list[Hashable]] = {}
        for c in columns:
            text = as_text(frame[c])
            ordered = _by_frequency(text)
            cut = len(ordered)
            if self.max_categories is not None and len(ordered) > self.max_categories:
                cut = self.max_categories - 1  # one column left for '<column>_other'
            kept, rare = ordered[:cut], ordered[cut:]
            self.categories_[c], self.infrequent_[c] = kept, rare
            self.lookup_[c] = pd.Index(kept + rare, dtype=object)
            self.missing_column_[c] = self.missing == "indicator" and bool(text.isna().any())
            names[c] = ([_name(c, k) for k in kept] + ([f"{c}_other"] if rare else [])
                        + ([f"{c}_missing"] if self.missing_column_[c] else []))
        return names

    def _apply(self, frame: pd.DataFrame) -> dict[Hashable, Any]:
        blocks: dict[Hashable, Any] = {}
        n = len(frame)
        for c, kept in self.categories_.items():
            rare = self.infrequent_[c]
            text = as_text(frame[c])
            codes = self.lookup_[c].get_indexer(text)
            width = len(kept) + bool(rare) + self.missing_column_[c]
            block = np.zeros((n, width), dtype="float64")
            rows = np.flatnonzero(codes >= 0)
            block[rows, np.minimum(codes[rows], len(kept))] = 1.0
            if self.missing_column_[c]:
                block[text.isna().to_numpy(), width - 1] = 1.0
            blocks[c] = block
        return blocks


class OrdinalEncode(ColumnStep):
    """Categories → 0, 1, 2… by frequency; unseen → -1; missing stays NaN for models that use it."""

    step_name = "ordinal_encode"
    params_model = OrdinalEncodeParams
    kinds: tuple[Kind, ...] = ("categorical", "boolean")
    named_kinds = _ANY_KIND

    def __init__(self, *, columns: list[str] | None = None) -> None:
        self.columns = columns

    def _learn(self, frame: pd.DataFrame, columns: list[Hashable]) -> dict[Hashable, list[Hashable]]:
        self.categories_ = {c: _by_frequency(as_text(frame[c])) for c in columns}
        self.lookup_ = {c: pd.Index(cats, dtype=object) for c, cats in self.categories_.items()}
        return {}

    def _apply(self, frame: pd.DataFrame) -> dict[Hashable, Any]:
        blocks: dict[Hashable, Any] = {}
        for c, lookup in self.lookup_.items():
            text = as_text(frame[c])
            codes = lookup.get_indexer(text).astype("float64")
            codes[text.isna().to_numpy()] = np.nan
            blocks[c] = codes
        return blocks


register_step(StepInfo(
    name="one_hot", kind="transform", params=OneHotParams,
    factory=lambda p: OneHot(**p.model_dump()),
    summary="one 0/1 column per category (rare ones grouped, unseen ones all zeros)",
))
register_step(StepInfo(
    name="ordinal_encode", kind="transform", params=OrdinalEncodeParams,
    factory=lambda p: OrdinalEncode(**p.model_dump()),
    summary="categories to integers by frequency (unseen → -1, missing → NaN)",
))
