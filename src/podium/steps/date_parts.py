"""``date_parts``: dates (seconds since the Unix epoch, UTC) → year, month, day, weekday, hour.

scikit-learn has no transformer for this, so ``DateParts`` is podium's own (its ONNX
converter is in ``podium.steps.onnx``). The calendar arithmetic is the proleptic Gregorian
days-to-civil algorithm, written with floor divisions so numpy and ONNX compute the same.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from podium.steps.base import StepInfo, register_step
from podium.steps.compose import ColumnStep, Kind

__all__ = ["DateParts", "DatePartsParams", "civil_parts"]

Part = Literal["year", "month", "day", "dayofweek", "hour"]
ALL_PARTS: tuple[Part, ...] = ("year", "month", "day", "dayofweek", "hour")
DAY = 86400.0


def civil_parts(seconds: np.ndarray) -> dict[str, np.ndarray]:
    """Every part of dates given as epoch seconds (UTC); NaN in, NaN out. Monday is 0."""
    days = np.floor(seconds / DAY)
    hour = np.floor((seconds - days * DAY) / 3600.0)
    dayofweek = days + 3.0 - 7.0 * np.floor((days + 3.0) / 7.0)  # 1970-01-01 was a Thursday
    z = days + 719468.0
    era = np.floor(z / 146097.0)
    doe = z - era * 146097.0
    yoe = np.floor((doe - np.floor(doe / 1460.0) + np.floor(doe / 36524.0) - np.floor(doe / 146096.0)) / 365.0)
    doy = doe - (365.0 * yoe + np.floor(yoe / 4.0) - np.floor(yoe / 100.0))
    mp = np.floor((5.0 * doy + 2.0) / 153.0)
    day = doy - np.floor((153.0 * mp + 2.0) / 5.0) + 1.0
    month = mp + 3.0 - 12.0 * (mp >= 10.0)
    year = yoe + era * 400.0 + (month <= 2.0)
    return {"year": year, "month": month, "day": day, "dayofweek": dayofweek, "hour": hour}


class DateParts(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Date columns (epoch seconds) → float columns '<column>_<part>'; the date is dropped.

    'hour' is kept only for columns whose training dates had a time of day.
    """

    def __init__(self, *, parts: tuple[str, ...] = ALL_PARTS) -> None:
        self.parts = parts

    def fit(self, X: Any, y: Any = None) -> DateParts:
        unknown = sorted(set(self.parts) - set(ALL_PARTS))
        if unknown or not self.parts:
            raise ValueError(f"parts must be some of {', '.join(ALL_PARTS)}; got {list(self.parts)}")
        values = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=True)
        self.parts_: list[list[str]] = []
        for j in range(values.shape[1]):
            column = values[:, j]
            present = column[~np.isnan(column)]
            has_time = bool((np.floor(present / DAY) * DAY != present).any())
            self.parts_.append([p for p in ALL_PARTS if p in self.parts and (p != "hour" or has_time)])
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "parts_")
        values = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        blocks: list[np.ndarray] = []
        for j, parts in enumerate(self.parts_):
            every = civil_parts(values[:, j])
            blocks.extend(every[p] for p in parts)
        if not blocks:
            return np.empty((values.shape[0], 0))
        return np.column_stack(blocks)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "parts_")
        names = input_features if input_features is not None else getattr(
            self, "feature_names_in_", [f"x{j}" for j in range(self.n_features_in_)])
        return np.asarray([f"{name}_{p}" for name, parts in zip(names, self.parts_) for p in parts], dtype=object)


class DatePartsParams(ColumnStep):
    """Replace each date column by numeric parts; the original column is dropped."""

    step_name: ClassVar[str] = "date_parts"
    picks: ClassVar[tuple[Kind, ...]] = ("datetime",)
    accepts: ClassVar[tuple[Kind, ...]] = ("datetime",)
    keeps_names: ClassVar[bool] = False

    parts: tuple[Part, ...] = Field(
        ALL_PARTS, min_length=1,
        description="the parts to extract; 'hour' only where training dates had a time of day")
    columns: list[str] | None = Field(None, description="only these date columns; all when omitted")

    def transformer(self, kind: Kind) -> TransformerMixin:
        return DateParts(parts=tuple(self.parts))

    def output_kind(self, kind: Kind) -> Kind:
        return "numeric"


register_step(StepInfo(
    name="date_parts", kind="transform", params=DatePartsParams, factory=lambda p: p,
    summary="dates to year, month, day, day of week and hour columns (drops the original)",
))
