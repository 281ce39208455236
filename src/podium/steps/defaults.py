"""The steps podium picks when a spec lists none: from the column types and the model family."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from podium.data.types import ColumnType
from podium.steps.base import FrameStep, percent
from podium.steps.columns import DropColumns
from podium.steps.compose import ColumnStep, value_kind
from podium.steps.date_parts import DatePartsParams
from podium.steps.encode import OneHotParams, OrdinalEncodeParams
from podium.steps.impute import ImputeParams
from podium.steps.scale import ScaleParams

__all__ = ["default_frame_steps", "default_transforms", "MAX_MISSING"]

#: a column missing more often than this is dropped by default
MAX_MISSING = 0.95

_REASONS = {
    ColumnType.ID: "id-like (unique per row)",
    ColumnType.CONSTANT: "constant (a single value)",
    ColumnType.TEXT: "free text (many distinct long strings)",
}


def default_frame_steps(
    frame: pd.DataFrame, column_types: dict[str, ColumnType], *, target: str
) -> list[FrameStep]:
    """Drop id-like, constant, free-text and mostly-missing columns, each with a note saying why."""
    reasons: dict[str, str] = {}
    for column, kind in column_types.items():
        if column == target or column not in frame.columns:
            continue
        missing = float(frame[column].isna().mean()) if len(frame) else 0.0
        if missing > MAX_MISSING:
            reasons[column] = f"{percent(missing)} missing (more than {percent(MAX_MISSING)})"
        elif kind in _REASONS:
            reasons[column] = _REASONS[ColumnType(kind)]
    if not reasons:
        return []
    return [DropColumns(columns=list(reasons), reasons=reasons, name="default column checks")]


def default_transforms(
    column_types: dict[str, ColumnType],
    *,
    needs_scaling: bool,
    handles_missing: bool,
    encoding: Literal["one_hot", "ordinal"],
) -> list[tuple[str, ColumnStep]]:
    """The steps whose chain turns the columns into numbers any estimator of the family can fit.

    date_parts (when there are dates) → impute (unless the family handles missing values;
    with missing indicators for families that need scaling) → scale (when needed, before
    encoding so the 0/1 columns stay 0/1) → one_hot or ordinal_encode (when there are
    categories). ``compose_steps`` turns them into one ColumnTransformer.
    """
    kinds = {value_kind(k) for k in column_types.values()}
    steps: list[tuple[str, ColumnStep]] = []
    if "datetime" in kinds:
        steps.append(("date_parts", DatePartsParams()))
    if not handles_missing:
        steps.append(("impute", ImputeParams(numeric="median", categorical="most_frequent",
                                             add_indicator=needs_scaling)))
    if needs_scaling:
        steps.append(("scale", ScaleParams(method="standard")))
    if "categorical" in kinds:
        if encoding == "one_hot":
            steps.append(("one_hot", OneHotParams(max_categories=20)))
        else:
            steps.append(("ordinal_encode", OrdinalEncodeParams()))
    return steps
