"""``scale``: put numeric columns on a common scale (linear models, kNN, networks need it)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field
from sklearn.base import TransformerMixin
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from podium.steps.base import StepInfo, register_step
from podium.steps.compose import ColumnStep, Kind

__all__ = ["ScaleParams"]

_SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}


class ScaleParams(ColumnStep):
    """Scale numeric columns; missing values stay missing."""

    step_name: ClassVar[str] = "scale"
    picks: ClassVar[tuple[Kind, ...]] = ("numeric",)
    accepts: ClassVar[tuple[Kind, ...]] = ("numeric", "datetime")

    method: Literal["standard", "minmax", "robust"] = Field(
        "standard", description="standard: mean 0, variance 1; minmax: to [0, 1]; "
                                "robust: median 0, interquartile range 1")
    columns: list[str] | None = Field(None, description="only these numeric columns; all when omitted")

    def transformer(self, kind: Kind) -> TransformerMixin:
        scaler: TransformerMixin = _SCALERS[self.method]()
        return scaler


register_step(StepInfo(
    name="scale", kind="transform", params=ScaleParams, factory=lambda p: p,
    summary="scale numeric columns (standard, minmax or robust)",
))


def __getattr__(name: str) -> Any:
    """podium 0.1.0 pickled its scale step here: Scale resolves to the frozen legacy class."""
    if name in ("Scale",):
        from podium.steps import legacy

        return getattr(legacy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
