"""Frame steps that remove rows (or mostly empty columns): ``drop_duplicates``, ``drop_missing``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from pydantic import AliasChoices, Field

from podium.steps.base import (
    StepInfo,
    StepParams,
    StepResult,
    check_rows_left,
    percent,
    register_step,
    require_columns,
)

__all__ = ["DropDuplicates", "DropMissing", "DropDuplicatesParams", "DropMissingParams"]


class DropDuplicatesParams(StepParams):
    """Remove rows that repeat an earlier row."""

    subset: list[str] | None = Field(
        None, min_length=1, validation_alias=AliasChoices("subset", "columns"),
        description="compare only these columns; all columns when omitted",
    )


class DropMissingParams(StepParams):
    """Remove rows with missing values, or columns that are mostly missing."""

    how: Literal["rows", "columns"] = Field(
        "rows", description="rows: drop rows with a missing value; columns: drop mostly-missing columns")
    columns: list[str] | None = Field(
        None, min_length=1, description="only look at these columns; all columns when omitted")
    max_missing: float = Field(
        0.5, ge=0, le=1, description="columns mode: drop a column whose missing fraction is above this")


@dataclass(frozen=True)
class DropDuplicates:
    """Keep the first of each group of identical rows."""

    subset: Sequence[str] | None = None
    name: str = "drop_duplicates"

    def apply(self, frame: pd.DataFrame, *, target: str) -> StepResult:
        subset = list(self.subset) if self.subset is not None else None
        if subset is not None:
            require_columns(frame, subset, self.name)
        try:
            repeated = frame.duplicated(subset=subset)
        except TypeError:  # unhashable cells (lists, dicts from document stores)
            compared = frame if subset is None else frame[subset]
            repeated = compared.astype(str).duplicated()
        out = frame.loc[~repeated]
        check_rows_left(out, self.name)
        return StepResult(out, [f"{self.name} removed {int(repeated.sum())} rows"])


@dataclass(frozen=True)
class DropMissing:
    """Drop rows with a missing value, or columns missing more than ``max_missing``."""

    how: Literal["rows", "columns"] = "rows"
    columns: Sequence[str] | None = None
    max_missing: float = 0.5
    name: str = "drop_missing"

    def apply(self, frame: pd.DataFrame, *, target: str) -> StepResult:
        looked = list(self.columns) if self.columns is not None else list(frame.columns)
        require_columns(frame, looked, self.name)
        if self.how == "rows":
            missing = frame[looked].isna().any(axis=1)
            out = frame.loc[~missing]
            check_rows_left(out, self.name)
            return StepResult(out, [f"{self.name} removed {int(missing.sum())} rows with missing values"])
        fractions = frame[looked].isna().mean()
        drop = [c for c in looked if c != target and fractions[c] > self.max_missing]
        notes = [f"dropped '{c}': {percent(fractions[c])} missing (more than {percent(self.max_missing)})"
                 for c in drop]
        return StepResult(frame.drop(columns=drop), notes or [f"{self.name} dropped no columns"])


register_step(StepInfo(
    name="drop_duplicates", kind="frame", params=DropDuplicatesParams,
    factory=lambda p: DropDuplicates(subset=p.subset),
    summary="remove repeated rows (training only)",
))
register_step(StepInfo(
    name="drop_missing", kind="frame", params=DropMissingParams,
    factory=lambda p: DropMissing(how=p.how, columns=p.columns, max_missing=p.max_missing),
    summary="remove rows with missing values, or mostly-missing columns (training only)",
))
