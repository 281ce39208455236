"""``clip_outliers``: cap numeric values at bounds learned on the train split.

scikit-learn has no transformer that learns clipping bounds, so ``ClipOutliers`` is
podium's own (its ONNX converter is in ``podium.steps.onnx``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from podium.steps.base import StepInfo, register_step
from podium.steps.compose import ColumnStep, Kind

__all__ = ["ClipOutliers", "ClipOutliersParams"]


class ClipOutliers(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Clip each column to bounds fitted on train; missing values stay missing.

    A column with no values in training has no bounds and is left alone.
    """

    def __init__(self, *, method: str = "quantile", lower: float = 0.01, upper: float = 0.99,
                 factor: float = 1.5) -> None:
        self.method = method
        self.lower = lower
        self.upper = upper
        self.factor = factor

    def fit(self, X: Any, y: Any = None) -> ClipOutliers:
        if self.method not in ("quantile", "iqr"):
            raise ValueError(f"method must be 'quantile' or 'iqr', not {self.method!r}")
        values = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=True)
        empty = np.isnan(values).all(axis=0)
        filled = np.where(empty, 0.0, values)  # nanquantile warns on an all-NaN column
        if self.method == "quantile":
            low, high = np.nanquantile(filled, [self.lower, self.upper], axis=0)
        else:
            q1, q3 = np.nanquantile(filled, [0.25, 0.75], axis=0)
            low, high = q1 - self.factor * (q3 - q1), q3 + self.factor * (q3 - q1)
        self.lower_ = np.where(empty, -np.inf, low)
        self.upper_ = np.where(empty, np.inf, high)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "lower_")
        values = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        clipped: np.ndarray = np.clip(values, self.lower_, self.upper_)
        return clipped


class ClipOutliersParams(ColumnStep):
    """Cap numeric values at quantiles (or Tukey fences) of the train split."""

    step_name: ClassVar[str] = "clip_outliers"
    picks: ClassVar[tuple[Kind, ...]] = ("numeric",)
    accepts: ClassVar[tuple[Kind, ...]] = ("numeric",)

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

    def transformer(self, kind: Kind) -> TransformerMixin:
        return ClipOutliers(method=self.method, lower=self.lower, upper=self.upper, factor=self.factor)


register_step(StepInfo(
    name="clip_outliers", kind="transform", params=ClipOutliersParams, factory=lambda p: p,
    summary="cap numeric values at quantiles or IQR fences learned on the train split",
))
