"""``impute``: fill missing values with what was learned on the train split."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from podium.steps.base import ColumnStep, Kind, StepInfo, StepParams, as_text, column_kind, register_step

__all__ = ["Impute", "ImputeParams"]


class ImputeParams(StepParams):
    """Fill missing values: numbers by a statistic, categories by the most frequent one."""

    numeric: Literal["mean", "median", "most_frequent", "constant"] = Field(
        "median", description="how to fill numeric columns")
    categorical: Literal["most_frequent", "constant"] = Field(
        "most_frequent", description="how to fill categorical and boolean columns")
    fill_value: float = Field(0.0, description="the number used when numeric is 'constant'")
    fill_category: str = Field("missing", description="the category used when categorical is 'constant'")
    add_indicator: bool = Field(
        False, description="add a 0/1 '<column>_missing' column for each numeric column "
                           "that had missing values in training")
    columns: list[str] | None = Field(None, description="only these columns; all that fit when omitted")


class Impute(ColumnStep):
    """Fill missing values; numeric columns come out as float, categorical ones as strings."""

    step_name = "impute"
    params_model = ImputeParams
    kinds: tuple[Kind, ...] = ("numeric", "categorical", "boolean")
    named_kinds: tuple[Kind, ...] = ("numeric", "categorical", "boolean")

    def __init__(
        self,
        *,
        numeric: str = "median",
        categorical: str = "most_frequent",
        fill_value: float = 0.0,
        fill_category: str = "missing",
        add_indicator: bool = False,
        columns: list[str] | None = None,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.fill_value = fill_value
        self.fill_category = fill_category
        self.add_indicator = add_indicator
        self.columns = columns

    def _picks(self, frame: pd.DataFrame, column: Hashable, kind: Kind) -> bool:
        # a plain bool column cannot hold a missing value; leave its dtype alone
        return kind in self.kinds and frame[column].dtype != np.bool_

    def _learn(self, frame: pd.DataFrame, columns: list[Hashable]) -> dict[Hashable, list[Hashable]]:
        numeric = [c for c in columns if column_kind(frame[c]) == "numeric"]
        numbers = frame[numeric].astype("float64")
        if self.numeric == "mean":
            fills = numbers.mean()
        elif self.numeric == "median":
            fills = numbers.median()
        elif self.numeric == "most_frequent":
            fills = pd.Series({c: _mode(numbers[c]) for c in numeric}, dtype="float64")
        else:
            fills = pd.Series(self.fill_value, index=numeric, dtype="float64")
        self.numeric_columns_ = numeric
        # a column empty in training is filled with fill_value rather than dropped
        self.numeric_fill_ = fills.reindex(numeric).fillna(self.fill_value).to_numpy("float64")
        had_missing = numbers.isna().any()
        self.indicator_columns_ = [c for c in numeric if self.add_indicator and had_missing[c]]
        self.categorical_fill_: dict[Hashable, Any] = {}
        for c in columns:
            if c not in numeric:
                text = as_text(frame[c])
                mode = _mode(text) if self.categorical == "most_frequent" else None
                self.categorical_fill_[c] = self.fill_category if mode is None else mode
        return {c: [c, f"{c}_missing"] for c in self.indicator_columns_}

    def _apply(self, frame: pd.DataFrame) -> dict[Hashable, Any]:
        blocks: dict[Hashable, Any] = {}
        if self.numeric_columns_:
            values = frame[self.numeric_columns_].to_numpy(dtype="float64", na_value=np.nan)
            missing = np.isnan(values)
            filled = np.where(missing, self.numeric_fill_, values)
            indicated = set(self.indicator_columns_)
            for i, c in enumerate(self.numeric_columns_):
                if c in indicated:
                    blocks[c] = np.column_stack([filled[:, i], missing[:, i].astype("float64")])
                else:
                    blocks[c] = filled[:, i]
        for c, fill in self.categorical_fill_.items():
            blocks[c] = as_text(frame[c]).fillna(fill)
        return blocks


def _mode(values: pd.Series) -> Any:
    """The most frequent present value (the smallest on a tie), None when all are missing."""
    modes = values.mode(dropna=True)
    return None if modes.empty else modes.iloc[0]


register_step(StepInfo(
    name="impute", kind="transform", params=ImputeParams,
    factory=lambda p: Impute(**p.model_dump()),
    summary="fill missing values (statistics learned on the train split)",
))
