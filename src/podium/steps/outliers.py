"""``clip_outliers``: cap numeric values at bounds learned on the train split."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from podium.steps.base import ColumnStep, Kind, StepInfo, StepParams, register_step

__all__ = ["ClipOutliers", "ClipOutliersParams"]


class ClipOutliersParams(StepParams):
    """Cap numeric values at quantiles (or Tukey fences) of the train split."""

    method: Literal["quantile", "iqr"] = Field(
        "quantile", description="quantile: cap at the lower/upper quantiles; "
                                "iqr: cap at Q1 - factor·IQR and Q3 + factor·IQR")
    lower: float = Field(0.01, ge=0, le=1, description="quantile method: the lower quantile")
    upper: float = Field(0.99, ge=0, le=1, description="quantile method: the upper quantile")
    factor: float = Field(1.5, gt=0, description="iqr method: how many IQRs beyond the quartiles")
    columns: list[str] | None = Field(None, description="only these numeric columns; all when omitted")

    @model_validator(mode="after")
    def _ordered(self) -> ClipOutliersParams:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        return self


class ClipOutliers(ColumnStep):
    """Clip numeric columns to bounds fitted on train; missing values stay missing."""

    step_name = "clip_outliers"
    params_model = ClipOutliersParams
    kinds: tuple[Kind, ...] = ("numeric",)
    named_kinds: tuple[Kind, ...] = ("numeric",)

    def __init__(self, *, method: str = "quantile", lower: float = 0.01, upper: float = 0.99,
                 factor: float = 1.5, columns: list[str] | None = None) -> None:
        self.method = method
        self.lower = lower
        self.upper = upper
        self.factor = factor
        self.columns = columns

    def _learn(self, frame: pd.DataFrame, columns: list[Hashable]) -> dict[Hashable, list[Hashable]]:
        numbers = frame[columns].astype("float64")
        if self.method == "quantile":
            low, high = numbers.quantile(self.lower), numbers.quantile(self.upper)
        else:
            q1, q3 = numbers.quantile(0.25), numbers.quantile(0.75)
            low, high = q1 - self.factor * (q3 - q1), q3 + self.factor * (q3 - q1)
        self.clipped_columns_ = columns
        # a column empty in training has no bounds: leave it unclipped
        self.lower_ = low.reindex(columns).fillna(-np.inf).to_numpy("float64")
        self.upper_ = high.reindex(columns).fillna(np.inf).to_numpy("float64")
        return {}

    def _apply(self, frame: pd.DataFrame) -> dict[Hashable, Any]:
        if not self.clipped_columns_:
            return {}
        values = frame[self.clipped_columns_].to_numpy(dtype="float64", na_value=np.nan)
        clipped = np.clip(values, self.lower_, self.upper_)
        return {c: clipped[:, i] for i, c in enumerate(self.clipped_columns_)}


register_step(StepInfo(
    name="clip_outliers", kind="transform", params=ClipOutliersParams,
    factory=lambda p: ClipOutliers(**p.model_dump()),
    summary="cap numeric values at quantiles or IQR fences learned on the train split",
))
