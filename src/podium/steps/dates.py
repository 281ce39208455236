"""``date_parts``: dates (or strings that parse as dates) → year, month, day, weekday, hour."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from pydantic import Field

from podium.errors import SchemaError
from podium.steps.base import ColumnStep, Kind, StepInfo, StepParams, as_text, register_step

__all__ = ["DateParts", "DatePartsParams", "to_datetimes"]

Part = Literal["year", "month", "day", "dayofweek", "hour"]
ALL_PARTS: tuple[Part, ...] = ("year", "month", "day", "dayofweek", "hour")
_DATE_LIKE = r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"


class DatePartsParams(StepParams):
    """Replace each date column by numeric parts; the original column is dropped."""

    parts: tuple[Part, ...] = Field(
        ALL_PARTS, min_length=1,
        description="the parts to extract; 'hour' only where training dates had a time of day")
    columns: list[str] | None = Field(
        None, description="only these columns; datetime columns and strings that parse as dates "
                          "when omitted")


class DateParts(ColumnStep):
    """Dates → float columns '<column>_<part>'; a missing or unparseable date gives NaN parts."""

    step_name = "date_parts"
    params_model = DatePartsParams
    kinds: tuple[Kind, ...] = ("datetime", "categorical")
    named_kinds: tuple[Kind, ...] = ("datetime", "categorical")

    def __init__(self, *, parts: tuple[str, ...] = ALL_PARTS, columns: list[str] | None = None) -> None:
        self.parts = parts
        self.columns = columns

    def _picks(self, frame: pd.DataFrame, column: Hashable, kind: Kind) -> bool:
        return kind == "datetime" or (kind == "categorical" and _looks_like_dates(frame[column]))

    def _learn(self, frame: pd.DataFrame, columns: list[Hashable]) -> dict[Hashable, list[Hashable]]:
        self.parts_: dict[Hashable, list[str]] = {}
        for c in columns:
            dates = to_datetimes(frame[c])
            if dates.notna().sum() == 0 and frame[c].notna().any():
                raise SchemaError(f"date_parts: column '{c}' holds no values that parse as dates.",
                                  hint="remove it from date_parts' columns")
            has_time = bool(((dates.dt.hour != 0) | (dates.dt.minute != 0) | (dates.dt.second != 0)).any())
            self.parts_[c] = [p for p in self.parts if p != "hour" or has_time]
        return {c: [f"{c}_{p}" for p in parts] for c, parts in self.parts_.items()}

    def _apply(self, frame: pd.DataFrame) -> dict[Hashable, Any]:
        blocks: dict[Hashable, Any] = {}
        for c, parts in self.parts_.items():
            dates = to_datetimes(frame[c])
            block = np.empty((len(frame), len(parts)), dtype="float64")
            for j, part in enumerate(parts):
                block[:, j] = getattr(dates.dt, part).to_numpy(dtype="float64", na_value=np.nan)
            blocks[c] = block
        return blocks


def to_datetimes(values: pd.Series) -> pd.Series:
    """Datetimes from a datetime column or from strings; what does not parse becomes NaT."""
    if ptypes.is_datetime64_any_dtype(values.dtype):
        return values
    text = as_text(values)
    present = int(text.notna().sum())
    try:
        dates = pd.to_datetime(text, errors="coerce", format="ISO8601")
        if int(dates.notna().sum()) < present:  # not all ISO 8601: the slower general parser
            dates = pd.to_datetime(text, errors="coerce", format="mixed")
    except (ValueError, TypeError):  # mixed UTC offsets: compare them in UTC
        dates = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    return dates


def _looks_like_dates(values: pd.Series) -> bool:
    sample = as_text(values.dropna().head(200))
    if sample.empty or not sample.str.contains(_DATE_LIKE, regex=True).all():
        return False
    return bool(to_datetimes(sample).notna().mean() > 0.9)


register_step(StepInfo(
    name="date_parts", kind="transform", params=DatePartsParams,
    factory=lambda p: DateParts(**p.model_dump()),
    summary="dates to year, month, day, day of week and hour columns (drops the original)",
))
