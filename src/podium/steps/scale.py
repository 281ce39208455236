"""``scale``: put numeric columns on a common scale (linear models, kNN, networks need it)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from podium.steps.base import ColumnStep, Kind, StepInfo, StepParams, register_step

__all__ = ["Scale", "ScaleParams"]

_SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}


class ScaleParams(StepParams):
    """Scale numeric columns; missing values stay missing."""

    method: Literal["standard", "minmax", "robust"] = Field(
        "standard", description="standard: mean 0, variance 1; minmax: to [0, 1]; "
                                "robust: median 0, interquartile range 1")
    columns: list[str] | None = Field(None, description="only these numeric columns; all when omitted")


class Scale(ColumnStep):
    """Scale numeric columns with the statistics of the train split."""

    step_name = "scale"
    params_model = ScaleParams
    kinds: tuple[Kind, ...] = ("numeric",)
    named_kinds: tuple[Kind, ...] = ("numeric",)

    def __init__(self, *, method: str = "standard", columns: list[str] | None = None) -> None:
        self.method = method
        self.columns = columns

    def _learn(self, frame: pd.DataFrame, columns: list[Hashable]) -> dict[Hashable, list[Hashable]]:
        self.scaled_columns_ = columns
        self.scaler_ = _SCALERS[self.method]().fit(_numbers(frame, columns)) if columns else None
        if self.scaler_ is not None:
            # every scaler is x * factor + offset; applied directly, a request skips sklearn's checks
            zero = np.zeros((1, len(columns)))
            self.offset_ = self.scaler_.transform(zero)[0]
            self.factor_ = self.scaler_.transform(zero + 1)[0] - self.offset_
        return {}

    def _apply(self, frame: pd.DataFrame) -> dict[Hashable, Any]:
        if self.scaler_ is None:
            return {}
        scaled = _numbers(frame, self.scaled_columns_) * self.factor_ + self.offset_
        return {c: scaled[:, i] for i, c in enumerate(self.scaled_columns_)}


def _numbers(frame: pd.DataFrame, columns: list[Hashable]) -> Any:
    return frame[columns].to_numpy(dtype="float64", na_value=float("nan"))


register_step(StepInfo(
    name="scale", kind="transform", params=ScaleParams,
    factory=lambda p: Scale(**p.model_dump()),
    summary="scale numeric columns (standard, minmax or robust)",
))
